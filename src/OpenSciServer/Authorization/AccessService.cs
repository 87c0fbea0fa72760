using Microsoft.EntityFrameworkCore;
using OpenSciServer.Accounts;
using OpenSciServer.Groups;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Authorization;

/// <summary>A resource as features and clients see it.</summary>
public sealed record ResourceInfo(Guid Id, string Type, string Key, string Name, Guid? OwnerId);

/// <summary>Who holds which actions on a resource.</summary>
public sealed record PrivilegeInfo(PrincipalKind Kind, string Name, Guid? UserId, long? GroupId, ResourceActions Actions);

/// <summary>A resource reachable by the caller, with the actions the caller holds on it.</summary>
public sealed record AccessibleResource(ResourceInfo Resource, ResourceActions Actions, string? OwnerName);

/// <summary>
/// The one answer to "may user U do action A on resource R" (SciServer's RACM). Every feature registers
/// its shareable things here and asks here; none keeps an ACL of its own. Owners and site admins hold
/// every action; others hold what was granted to them or to a group they belong to (and the
/// <c>public</c> group). Answers are cached for the request and dropped on any change, so a revocation
/// is seen by the very next request.
/// </summary>
public sealed class AccessService(PlatformDbContext db, GroupDirectory groups, AccountService accounts, TimeProvider time)
{
    // Keyed by admin-ness too: the platform's own caller and an anonymous one share the empty user id.
    private readonly Dictionary<(Guid User, bool Admin, Guid Resource), ResourceActions> _cache = [];
    private readonly Dictionary<(Guid User, bool Admin), IReadOnlyList<long>> _groupCache = [];

    /// <summary>Registers a resource, or renames it if it exists. Idempotent.</summary>
    public async Task<ResourceInfo> RegisterAsync(ResourceType type, string key, string name, Guid? ownerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        _ = ResourceTypes.Get(type.Name);
        var resource = await db.Set<Resource>().FirstOrDefaultAsync(r => r.Type == type.Name && r.Key == key, cancellationToken);
        if (resource is null)
        {
            resource = new Resource { Id = Guid.CreateVersion7(), Type = type.Name, Key = key, Name = name, OwnerId = ownerId, CreatedAt = time.GetUtcNow() };
            db.Set<Resource>().Add(resource);
        }
        else
        {
            resource.Name = name;
        }

        await db.SaveChangesAsync(cancellationToken);
        Invalidate();
        return ToInfo(resource);
    }

    /// <summary>Moves a resource to a new key and name (e.g. a renamed volume), keeping its privileges.</summary>
    public async Task RekeyAsync(ResourceType type, string key, string newKey, string newName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        await db.Set<Resource>().Where(r => r.Type == type.Name && r.Key == key)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Key, newKey).SetProperty(r => r.Name, newName), cancellationToken);
        Invalidate();
    }

    /// <summary>Forgets a resource and every privilege on it.</summary>
    public async Task UnregisterAsync(ResourceType type, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        var resource = await db.Set<Resource>().FirstOrDefaultAsync(r => r.Type == type.Name && r.Key == key, cancellationToken);
        if (resource is not null)
        {
            db.Set<Resource>().Remove(resource);
            await db.SaveChangesAsync(cancellationToken);
        }

        Invalidate();
    }

    public async Task<ResourceInfo?> FindAsync(ResourceType type, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        var resource = await db.Set<Resource>().AsNoTracking().FirstOrDefaultAsync(r => r.Type == type.Name && r.Key == key, cancellationToken);
        return resource is null ? null : ToInfo(resource);
    }

    public async Task<ResourceInfo?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        var resource = await db.Set<Resource>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        return resource is null ? null : ToInfo(resource);
    }

    /// <summary>The actions the caller holds on a resource; None if it does not exist or the caller holds nothing.</summary>
    public async Task<ResourceActions> ActionsAsync(Caller caller, ResourceType type, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        var resource = await FindAsync(type, key, cancellationToken);
        return resource is null ? ResourceActions.None : await ActionsAsync(caller, resource, cancellationToken);
    }

    public async Task<ResourceActions> ActionsAsync(Caller caller, ResourceInfo resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(resource);
        if (_cache.TryGetValue((caller.UserId, caller.IsAdmin, resource.Id), out var cached))
        {
            return cached;
        }

        var type = ResourceTypes.Get(resource.Type);
        ResourceActions actions;
        if (caller.IsAdmin || resource.OwnerId == caller.UserId)
        {
            actions = type.Actions;
        }
        else
        {
            var groupIds = await GroupsOfAsync(caller, cancellationToken);
            var granted = await db.Set<Privilege>().AsNoTracking()
                .Where(p => p.ResourceId == resource.Id && (p.UserId == caller.UserId || (p.GroupId != null && groupIds.Contains(p.GroupId.Value))))
                .Select(p => p.Actions).ToListAsync(cancellationToken);
            actions = granted.Aggregate(ResourceActions.None, (all, a) => all | a) & type.Actions;
        }

        _cache[(caller.UserId, caller.IsAdmin, resource.Id)] = actions;
        return actions;
    }

    public async Task<bool> CanAsync(Caller caller, ResourceType type, string key, ResourceActions action, CancellationToken cancellationToken) =>
        (await ActionsAsync(caller, type, key, cancellationToken)).HasFlag(action);

    /// <summary>
    /// Returns the resource if the caller holds <paramref name="action"/> on it. A caller who holds
    /// nothing gets the same 404 as for a resource that does not exist; one who may see it but not do
    /// this gets a 403.
    /// </summary>
    public async Task<ResourceInfo> DemandAsync(Caller caller, ResourceType type, string key, ResourceActions action, string notFoundMessage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        var resource = await FindAsync(type, key, cancellationToken) ?? throw PlatformException.NotFound(notFoundMessage);
        var held = await ActionsAsync(caller, resource, cancellationToken);
        if (held == ResourceActions.None)
        {
            throw PlatformException.NotFound(notFoundMessage);
        }

        if (!held.HasFlag(action))
        {
            throw PlatformException.Forbidden($"You may not {Describe(action)} this {type.DisplayName.ToLowerInvariant()}: it was shared with you for {string.Join(", ", ResourceTypes.Names(held))} only.");
        }

        return resource;
    }

    /// <summary>
    /// Sets the actions a user or group holds on a resource (none revokes). The caller needs the grant
    /// action and may only give or take actions they hold themselves.
    /// </summary>
    public async Task<PrivilegeInfo> SetPrivilegeAsync(Caller caller, ResourceInfo resource, PrincipalKind kind, string principalName, ResourceActions actions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(resource);
        var type = ResourceTypes.Get(resource.Type);
        var held = await ActionsAsync(caller, resource, cancellationToken);
        if (held == ResourceActions.None)
        {
            throw PlatformException.NotFound($"No such {type.DisplayName.ToLowerInvariant()}.");
        }

        if (!held.HasFlag(ResourceActions.Grant))
        {
            throw PlatformException.Forbidden($"You may not share this {type.DisplayName.ToLowerInvariant()}: that needs the grant action.");
        }

        var (userId, groupId, name) = await ResolvePrincipalAsync(caller, resource, kind, principalName, cancellationToken);
        var privilege = await db.Set<Privilege>().FirstOrDefaultAsync(
            p => p.ResourceId == resource.Id && (kind == PrincipalKind.User ? p.UserId == userId : p.GroupId == groupId), cancellationToken);
        var before = privilege?.Actions ?? ResourceActions.None;
        var changed = before ^ actions;
        if ((changed & ~held) != ResourceActions.None)
        {
            throw PlatformException.Forbidden($"You can only share what you hold yourself: {string.Join(", ", ResourceTypes.Names(held))}.");
        }

        if (actions == ResourceActions.None)
        {
            if (privilege is not null)
            {
                db.Set<Privilege>().Remove(privilege);
            }
        }
        else if (privilege is null)
        {
            db.Set<Privilege>().Add(new Privilege
            {
                Id = Guid.CreateVersion7(),
                ResourceId = resource.Id,
                PrincipalKind = kind,
                UserId = userId,
                GroupId = groupId,
                Actions = actions,
                GrantedBy = caller.UserId,
                GrantedAt = time.GetUtcNow(),
            });
        }
        else
        {
            privilege.Actions = actions;
            privilege.GrantedBy = caller.UserId;
            privilege.GrantedAt = time.GetUtcNow();
        }

        if (groupId is { } gid && changed != ResourceActions.None)
        {
            var what = $"{type.DisplayName.ToLowerInvariant()} '{resource.Name}'";
            await groups.RecordAsync(gid, actions == ResourceActions.None ? GroupEventKind.Unshared : GroupEventKind.Shared, caller.UserName,
                actions == ResourceActions.None ? $"stopped sharing {what}" : $"shared {what}: {string.Join(", ", ResourceTypes.Names(actions))}",
                cancellationToken, save: false);
        }

        await db.SaveChangesAsync(cancellationToken);
        Invalidate();
        return new PrivilegeInfo(kind, name, userId, groupId, actions);
    }

    /// <summary>Who holds what on a resource; for those who may share it.</summary>
    public async Task<IReadOnlyList<PrivilegeInfo>> PrivilegesAsync(Caller caller, ResourceInfo resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var held = await ActionsAsync(caller, resource, cancellationToken);
        var type = ResourceTypes.Get(resource.Type).DisplayName.ToLowerInvariant();
        if (held == ResourceActions.None)
        {
            throw PlatformException.NotFound($"No such {type}.");
        }

        // Who else holds what is for those who may share it.
        if (!held.HasFlag(ResourceActions.Grant))
        {
            throw PlatformException.Forbidden($"Only those who may share this {type} see who it is shared with.");
        }

        var privileges = await db.Set<Privilege>().AsNoTracking().Where(p => p.ResourceId == resource.Id).ToListAsync(cancellationToken);
        return await DescribeAsync(privileges, cancellationToken);
    }

    /// <summary>Resources of a type that others shared with the caller (directly or through a group).</summary>
    public async Task<IReadOnlyList<AccessibleResource>> SharedWithAsync(Caller caller, ResourceType type, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(type);
        var groupIds = await GroupsOfAsync(caller, cancellationToken);
        var rows = await db.Set<Privilege>().AsNoTracking()
            .Where(p => p.Resource!.Type == type.Name && p.Resource.OwnerId != caller.UserId
                && (p.UserId == caller.UserId || (p.GroupId != null && groupIds.Contains(p.GroupId.Value))))
            .Select(p => new { p.Resource, p.Actions })
            .ToListAsync(cancellationToken);
        var owners = await OwnerNamesAsync(rows.Select(r => r.Resource!.OwnerId), cancellationToken);
        return rows.GroupBy(r => r.Resource!.Id)
            .Select(g => new AccessibleResource(ToInfo(g.First().Resource!), g.Aggregate(ResourceActions.None, (a, r) => a | r.Actions) & type.Actions,
                g.First().Resource!.OwnerId is { } o && owners.TryGetValue(o, out var n) ? n : null))
            .OrderBy(r => r.Resource.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>What has been shared with a group, for its page.</summary>
    public async Task<IReadOnlyList<AccessibleResource>> SharedWithGroupAsync(long groupId, CancellationToken cancellationToken)
    {
        var rows = await db.Set<Privilege>().AsNoTracking().Where(p => p.GroupId == groupId)
            .Select(p => new { p.Resource, p.Actions }).ToListAsync(cancellationToken);
        var owners = await OwnerNamesAsync(rows.Select(r => r.Resource!.OwnerId), cancellationToken);
        return rows.Select(r => new AccessibleResource(ToInfo(r.Resource!), r.Actions,
                r.Resource!.OwnerId is { } o && owners.TryGetValue(o, out var n) ? n : null))
            .OrderBy(r => r.Resource.Type, StringComparer.Ordinal).ThenBy(r => r.Resource.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Drops every privilege granted to a group (the group is being deleted).</summary>
    public async Task RemoveGroupPrivilegesAsync(long groupId, CancellationToken cancellationToken)
    {
        await db.Set<Privilege>().Where(p => p.GroupId == groupId).ExecuteDeleteAsync(cancellationToken);
        Invalidate();
    }

    /// <summary>Forgets cached answers; call after anything that changes membership.</summary>
    public void Invalidate()
    {
        _cache.Clear();
        _groupCache.Clear();
    }

    private async Task<IReadOnlyList<long>> GroupsOfAsync(Caller caller, CancellationToken cancellationToken)
    {
        if (!_groupCache.TryGetValue((caller.UserId, caller.IsAdmin), out var ids))
        {
            ids = await groups.GroupIdsOfAsync(caller.UserId, caller.IsAdmin, cancellationToken);
            _groupCache[(caller.UserId, caller.IsAdmin)] = ids;
        }

        return ids;
    }

    private async Task<(Guid? UserId, long? GroupId, string Name)> ResolvePrincipalAsync(
        Caller caller, ResourceInfo resource, PrincipalKind kind, string principalName, CancellationToken cancellationToken)
    {
        if (kind == PrincipalKind.User)
        {
            var user = await accounts.FindByNameAsync(principalName, cancellationToken)
                ?? throw PlatformException.Invalid($"There is no user named '{principalName}'.", "name");
            if (user.Id == resource.OwnerId)
            {
                throw PlatformException.Invalid($"{user.UserName} owns this resource and holds every action on it already.", "name");
            }

            if (user.Id == caller.UserId)
            {
                throw PlatformException.Invalid("You cannot share with yourself.", "name");
            }

            return (user.Id, null, user.UserName);
        }

        var group = await groups.FindByNameAsync(principalName, cancellationToken);
        // A private group the caller is not in is not named to them: same answer as no group at all.
        if (group is null || (group.Accessibility == GroupAccessibility.Private && !caller.IsAdmin
            && !await groups.IsMemberAsync(group.Id, caller.UserId, cancellationToken)))
        {
            throw PlatformException.Invalid($"There is no group named '{principalName}' that you belong to.", "name");
        }

        return (null, group.Id, group.Name);
    }

    private async Task<IReadOnlyList<PrivilegeInfo>> DescribeAsync(IReadOnlyList<Privilege> privileges, CancellationToken cancellationToken)
    {
        var users = await OwnerNamesAsync(privileges.Select(p => p.UserId), cancellationToken);
        var groupNames = await groups.GetAsync(privileges.Where(p => p.GroupId is not null).Select(p => p.GroupId!.Value), cancellationToken);
        return privileges.Select(p => new PrivilegeInfo(p.PrincipalKind,
                p.UserId is { } u ? users.GetValueOrDefault(u, "(deleted user)") : groupNames.TryGetValue(p.GroupId!.Value, out var g) ? g.Name : "(deleted group)",
                p.UserId, p.GroupId, p.Actions))
            .OrderBy(p => p.Kind).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    private Task<Dictionary<Guid, string>> OwnerNamesAsync(IEnumerable<Guid?> ids, CancellationToken cancellationToken) =>
        accounts.NamesAsync(ids.Where(i => i is not null).Select(i => i!.Value), cancellationToken);

    private static string Describe(ResourceActions action) => action switch
    {
        ResourceActions.Read => "read",
        ResourceActions.Write => "write to",
        ResourceActions.Delete => "delete",
        ResourceActions.Grant => "share",
        ResourceActions.Query => "query",
        ResourceActions.Update => "update",
        ResourceActions.Use => "use",
        _ => action.ToString().ToLowerInvariant(),
    };

    private static ResourceInfo ToInfo(Resource r) => new(r.Id, r.Type, r.Key, r.Name, r.OwnerId);
}
