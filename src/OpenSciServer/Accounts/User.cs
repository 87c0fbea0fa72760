using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace OpenSciServer.Accounts;

public enum UserStatus
{
    /// <summary>Registered while registration needs an admin's approval; cannot log in yet.</summary>
    PendingApproval = 0,
    Active = 1,
    /// <summary>Disabled by an admin: cannot log in, and every token stops working at once.</summary>
    Disabled = 2,
}

/// <summary>A platform account. <see cref="UserName"/> is canonical (see <see cref="UserNames"/>).</summary>
public sealed class User
{
    public Guid Id { get; set; }

    /// <summary>Canonical, lower-case, safe as a folder, schema and Unix user name.</summary>
    public required string UserName { get; set; }

    public required string Email { get; set; }

    /// <summary>Upper-invariant email, unique.</summary>
    public required string NormalizedEmail { get; set; }

    /// <summary>ASP.NET Core Identity PasswordHasher output (PBKDF2, format V3).</summary>
    public required string PasswordHash { get; set; }

    public UserStatus Status { get; set; }

    public bool IsAdmin { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? LastLoginAt { get; set; }
}

internal sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> builder)
    {
        builder.ToTable("users");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.UserName).HasMaxLength(UserNames.MaxLength).IsRequired();
        builder.HasIndex(u => u.UserName).IsUnique();
        builder.Property(u => u.Email).HasMaxLength(256).IsRequired();
        builder.Property(u => u.NormalizedEmail).HasMaxLength(256).IsRequired();
        builder.HasIndex(u => u.NormalizedEmail).IsUnique();
        builder.Property(u => u.PasswordHash).HasMaxLength(512).IsRequired();
    }
}
