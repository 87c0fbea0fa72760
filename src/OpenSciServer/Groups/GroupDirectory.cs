using Microsoft.EntityFrameworkCore;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Groups;

/// <summary>A group as other features see it: enough to name it and to check membership.</summary>
public sealed record GroupRef(long Id, string Name, GroupAccessibility Accessibility);

/// <summary>
/// Read-only answers about groups for other features (the authorization service above all), and the
/// activity log they write to. Commands on groups live in <see cref="GroupService"/>.
/// </summary>
public sealed class GroupDirectory(PlatformDbContext db, TimeProvider time)
{
    /// <summary>The groups whose privileges the user holds: accepted memberships, <c>public</c>, and <c>admin</c> for site admins.</summary>
    public async Task<IReadOnlyList<long>> GroupIdsOfAsync(Guid userId, bool isAdmin, CancellationToken cancellationToken)
    {
        string[] system = isAdmin ? [GroupNames.Public, GroupNames.Admin] : [GroupNames.Public];
        return await db.Set<Group>()
            .Where(g => (g.Accessibility == GroupAccessibility.System && system.Contains(g.NormalizedName))
                || g.Members.Any(m => m.UserId == userId && m.Status == MembershipStatus.Accepted))
            .Select(g => g.Id)
            .ToListAsync(cancellationToken);
    }

    public async Task<GroupRef?> FindByNameAsync(string? name, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var normalized = GroupNames.Normalize(name.Trim());
        return await db.Set<Group>().Where(g => g.NormalizedName == normalized)
            .Select(g => new GroupRef(g.Id, g.Name, g.Accessibility)).FirstOrDefaultAsync(cancellationToken);
    }

    public async Task<IReadOnlyDictionary<long, GroupRef>> GetAsync(IEnumerable<long> ids, CancellationToken cancellationToken)
    {
        var list = ids.Distinct().ToList();
        return await db.Set<Group>().Where(g => list.Contains(g.Id))
            .Select(g => new GroupRef(g.Id, g.Name, g.Accessibility)).ToDictionaryAsync(g => g.Id, cancellationToken);
    }

    public Task<bool> IsMemberAsync(long groupId, Guid userId, CancellationToken cancellationToken) =>
        db.Set<GroupMember>().AnyAsync(m => m.GroupId == groupId && m.UserId == userId && m.Status == MembershipStatus.Accepted, cancellationToken);

    /// <summary>Adds a line to a group's activity log (saved with the caller's next SaveChanges, or now).</summary>
    public async Task RecordAsync(long groupId, GroupEventKind kind, string actor, string detail, CancellationToken cancellationToken, bool save = true)
    {
        db.Set<GroupEvent>().Add(new GroupEvent
        {
            GroupId = groupId,
            At = time.GetUtcNow(),
            Kind = kind,
            Actor = actor.Length > 64 ? actor[..64] : actor,
            Detail = detail.Length > 512 ? detail[..512] : detail,
        });
        if (save)
        {
            await db.SaveChangesAsync(cancellationToken);
        }
    }
}
