using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using OpenSciServer.Accounts;

namespace OpenSciServer.Files;

/// <summary>A user's folder in a root volume: <c>&lt;Root&gt;/&lt;owner&gt;/&lt;name&gt;</c>.</summary>
public sealed class UserVolume
{
    public long Id { get; set; }

    public required string RootVolume { get; set; }

    public Guid OwnerId { get; set; }

    /// <summary>The owner's user name, part of the path (user names never change).</summary>
    public required string OwnerName { get; set; }

    public required string Name { get; set; }

    public string Description { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The authorization service's key for this volume.</summary>
    public string ResourceKey => $"{RootVolume}/{OwnerName}/{Name}";
}

/// <summary>A curated folder an admin published, read-only unless marked writable.</summary>
public sealed class DataVolume
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string DisplayName { get; set; } = "";

    public string Description { get; set; } = "";

    /// <summary>The folder on the server, absolute.</summary>
    public required string Path { get; set; }

    public bool Writable { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>An admin's quota for one user in one root volume, replacing the root's default.</summary>
public sealed class QuotaOverride
{
    public Guid UserId { get; set; }

    public required string RootVolume { get; set; }

    public long? QuotaBytes { get; set; }

    public long? QuotaFiles { get; set; }
}

public static class UserVolumeNames
{
    public const int MaxLength = 64;

    /// <summary>Letters, digits, '_', '-' and '.', starting with a letter or digit: safe as a folder and in a URL.</summary>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    public const string RuleText = "1 to 64 characters: letters, digits, '_', '-' and '.', starting with a letter or digit.";
}

internal sealed class UserVolumeConfiguration : IEntityTypeConfiguration<UserVolume>
{
    public void Configure(EntityTypeBuilder<UserVolume> builder)
    {
        builder.ToTable("user_volumes");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.RootVolume).HasMaxLength(64).IsRequired();
        builder.Property(v => v.OwnerName).HasMaxLength(UserNames.MaxLength).IsRequired();
        builder.Property(v => v.Name).HasMaxLength(UserVolumeNames.MaxLength).IsRequired();
        builder.Property(v => v.Description).HasMaxLength(2000).IsRequired();
        builder.HasIndex(v => new { v.RootVolume, v.OwnerId, v.Name }).IsUnique();
        builder.Ignore(v => v.ResourceKey);
        builder.HasOne<User>().WithMany().HasForeignKey(v => v.OwnerId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class DataVolumeConfiguration : IEntityTypeConfiguration<DataVolume>
{
    public void Configure(EntityTypeBuilder<DataVolume> builder)
    {
        builder.ToTable("data_volumes");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.Name).HasMaxLength(UserVolumeNames.MaxLength).IsRequired();
        builder.HasIndex(v => v.Name).IsUnique();
        builder.Property(v => v.DisplayName).HasMaxLength(128).IsRequired();
        builder.Property(v => v.Description).HasMaxLength(2000).IsRequired();
        builder.Property(v => v.Path).HasMaxLength(1024).IsRequired();
    }
}

internal sealed class QuotaOverrideConfiguration : IEntityTypeConfiguration<QuotaOverride>
{
    public void Configure(EntityTypeBuilder<QuotaOverride> builder)
    {
        builder.ToTable("quota_overrides");
        builder.HasKey(q => new { q.UserId, q.RootVolume });
        builder.Property(q => q.RootVolume).HasMaxLength(64).IsRequired();
        builder.HasOne<User>().WithMany().HasForeignKey(q => q.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
