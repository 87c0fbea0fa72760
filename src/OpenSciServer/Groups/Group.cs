using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using OpenSciServer.Accounts;

namespace OpenSciServer.Groups;

public enum GroupAccessibility
{
    /// <summary>Invitation only; outsiders do not see it.</summary>
    Private = 0,
    /// <summary>Listed for everyone; anyone may join.</summary>
    Public = 1,
    /// <summary>The platform's own groups, <c>public</c> (every user) and <c>admin</c> (site admins).</summary>
    System = 2,
}

public enum GroupRole
{
    Member = 0,
    Admin = 1,
    Owner = 2,
}

public enum MembershipStatus
{
    Invited = 0,
    Accepted = 1,
    Declined = 2,
    Withdrawn = 3,
}

/// <summary>A working group: members share what is shared with the group.</summary>
public sealed class Group
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary>NFKC, lower case: unique, so "eROSITA DR1" and "erosita dr1" cannot both exist.</summary>
    public required string NormalizedName { get; set; }

    public string Description { get; set; } = "";

    public GroupAccessibility Accessibility { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public List<GroupMember> Members { get; set; } = [];
}

/// <summary>A user's place in a group: an invitation until accepted, then a membership with a role.</summary>
public sealed class GroupMember
{
    public long GroupId { get; set; }

    public Group? Group { get; set; }

    public Guid UserId { get; set; }

    public User? User { get; set; }

    public GroupRole Role { get; set; }

    public MembershipStatus Status { get; set; }

    public Guid? InvitedBy { get; set; }

    public DateTimeOffset InvitedAt { get; set; }

    public DateTimeOffset? RespondedAt { get; set; }
}

public enum GroupEventKind
{
    Created = 0,
    Updated = 1,
    Invited = 2,
    Withdrawn = 3,
    Accepted = 4,
    Declined = 5,
    Joined = 6,
    Left = 7,
    Removed = 8,
    RoleChanged = 9,
    Shared = 10,
    Unshared = 11,
}

/// <summary>One line of a group's activity log, shown to its owners and admins.</summary>
public sealed class GroupEvent
{
    public long Id { get; set; }

    public long GroupId { get; set; }

    public DateTimeOffset At { get; set; }

    public GroupEventKind Kind { get; set; }

    /// <summary>Who acted (user name at the time; accounts may be deleted later).</summary>
    public required string Actor { get; set; }

    /// <summary>Whom or what it was about, and how, in words.</summary>
    public required string Detail { get; set; }
}

internal sealed class GroupConfiguration : IEntityTypeConfiguration<Group>
{
    public void Configure(EntityTypeBuilder<Group> builder)
    {
        builder.ToTable("groups");
        builder.HasKey(g => g.Id);
        builder.Property(g => g.Name).HasMaxLength(GroupNames.MaxLength).IsRequired();
        builder.Property(g => g.NormalizedName).HasMaxLength(GroupNames.MaxLength * 2).IsRequired();
        builder.HasIndex(g => g.NormalizedName).IsUnique();
        builder.Property(g => g.Description).HasMaxLength(GroupNames.MaxDescriptionLength).IsRequired();
    }
}

internal sealed class GroupMemberConfiguration : IEntityTypeConfiguration<GroupMember>
{
    public void Configure(EntityTypeBuilder<GroupMember> builder)
    {
        builder.ToTable("group_members");
        builder.HasKey(m => new { m.GroupId, m.UserId });
        builder.HasIndex(m => new { m.UserId, m.Status });
        builder.HasOne(m => m.Group).WithMany(g => g.Members).HasForeignKey(m => m.GroupId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne(m => m.User).WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class GroupEventConfiguration : IEntityTypeConfiguration<GroupEvent>
{
    public void Configure(EntityTypeBuilder<GroupEvent> builder)
    {
        builder.ToTable("group_events");
        builder.HasKey(e => e.Id);
        builder.HasIndex(e => new { e.GroupId, e.Id });
        builder.Property(e => e.Actor).HasMaxLength(64).IsRequired();
        builder.Property(e => e.Detail).HasMaxLength(512).IsRequired();
        builder.HasOne<Group>().WithMany().HasForeignKey(e => e.GroupId).OnDelete(DeleteBehavior.Cascade);
    }
}
