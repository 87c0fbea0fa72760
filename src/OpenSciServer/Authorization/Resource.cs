using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using OpenSciServer.Accounts;

namespace OpenSciServer.Authorization;

/// <summary>Something that can be shared: a volume, a catalog, a table, a compute domain or image.</summary>
public sealed class Resource
{
    public Guid Id { get; set; }

    /// <summary>One of <see cref="ResourceTypes"/>.</summary>
    public required string Type { get; set; }

    /// <summary>The owning feature's own identifier, unique within the type (e.g. "Storage/alice/persistent").</summary>
    public required string Key { get; set; }

    public required string Name { get; set; }

    /// <summary>The owner holds every action of the type. Null for platform resources (admins manage them).</summary>
    public Guid? OwnerId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

public enum PrincipalKind
{
    User = 0,
    Group = 1,
}

/// <summary>Actions on a resource granted to a user or a group.</summary>
public sealed class Privilege
{
    public Guid Id { get; set; }

    public Guid ResourceId { get; set; }

    public Resource? Resource { get; set; }

    public PrincipalKind PrincipalKind { get; set; }

    /// <summary>Set when <see cref="PrincipalKind"/> is User; the privilege goes with the account.</summary>
    public Guid? UserId { get; set; }

    /// <summary>Set when <see cref="PrincipalKind"/> is Group.</summary>
    public long? GroupId { get; set; }

    public ResourceActions Actions { get; set; }

    public Guid? GrantedBy { get; set; }

    public DateTimeOffset GrantedAt { get; set; }
}

internal sealed class ResourceConfiguration : IEntityTypeConfiguration<Resource>
{
    public void Configure(EntityTypeBuilder<Resource> builder)
    {
        builder.ToTable("resources");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Type).HasMaxLength(32).IsRequired();
        builder.Property(r => r.Key).HasMaxLength(512).IsRequired();
        builder.Property(r => r.Name).HasMaxLength(256).IsRequired();
        builder.HasIndex(r => new { r.Type, r.Key }).IsUnique();
        builder.HasIndex(r => r.OwnerId);
        builder.HasOne<User>().WithMany().HasForeignKey(r => r.OwnerId).OnDelete(DeleteBehavior.SetNull);
    }
}

internal sealed class PrivilegeConfiguration : IEntityTypeConfiguration<Privilege>
{
    public void Configure(EntityTypeBuilder<Privilege> builder)
    {
        builder.ToTable("privileges");
        builder.HasKey(p => p.Id);
        // One privilege per resource and principal; NULLs are distinct in unique indexes, hence the filters.
        builder.HasIndex(p => new { p.ResourceId, p.UserId }).IsUnique().HasFilter("\"UserId\" IS NOT NULL");
        builder.HasIndex(p => new { p.ResourceId, p.GroupId }).IsUnique().HasFilter("\"GroupId\" IS NOT NULL");
        builder.HasIndex(p => p.UserId);
        builder.HasIndex(p => p.GroupId);
        builder.HasOne(p => p.Resource).WithMany().HasForeignKey(p => p.ResourceId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<User>().WithMany().HasForeignKey(p => p.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
