using Microsoft.EntityFrameworkCore;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Groups;

public sealed record GroupMemberResponse(Guid UserId, string Username, GroupRole Role, MembershipStatus Status, DateTimeOffset InvitedAt, DateTimeOffset? RespondedAt);

/// <summary>A group as its members (or, for public groups, anyone) see it.</summary>
public sealed record GroupResponse(
    long Id, string Name, string Description, GroupAccessibility Accessibility, DateTimeOffset CreatedAt,
    GroupRole? MyRole, MembershipStatus? MyStatus, int MemberCount, IReadOnlyList<GroupMemberResponse> Members)
{
    /// <summary>Owners and group admins manage the group.</summary>
    public bool CanManage(Caller caller) => caller.IsAdmin || (MyStatus == MembershipStatus.Accepted && MyRole is GroupRole.Owner or GroupRole.Admin);
}

public sealed record GroupEventResponse(long Id, DateTimeOffset At, GroupEventKind Kind, string Actor, string Detail);

/// <summary>Groups, invitations and roles (SciServer's UGM), with the rules of who may do what.</summary>
public sealed class GroupService(PlatformDbContext db, GroupDirectory directory, AccountService accounts, AccessService access, TimeProvider time, ILogger<GroupService> logger)
{
    private DbSet<Group> Groups => db.Set<Group>();

    private DbSet<GroupMember> Members => db.Set<GroupMember>();

    /// <summary>Groups the caller belongs to (accepted).</summary>
    public Task<IReadOnlyList<GroupResponse>> ListMineAsync(Caller caller, CancellationToken ct) =>
        ListAsync(caller, g => g.Members.Any(m => m.UserId == caller.UserId && m.Status == MembershipStatus.Accepted), ct);

    /// <summary>Groups that invited the caller and wait for an answer.</summary>
    public Task<IReadOnlyList<GroupResponse>> ListInvitationsAsync(Caller caller, CancellationToken ct) =>
        ListAsync(caller, g => g.Members.Any(m => m.UserId == caller.UserId && m.Status == MembershipStatus.Invited), ct);

    /// <summary>Public groups, for anyone to join.</summary>
    public Task<IReadOnlyList<GroupResponse>> ListPublicAsync(Caller caller, CancellationToken ct) =>
        ListAsync(caller, g => g.Accessibility == GroupAccessibility.Public, ct);

    /// <summary>Every group (site admins).</summary>
    public Task<IReadOnlyList<GroupResponse>> ListAllAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.IsAdmin ? ListAsync(caller, g => true, ct) : throw PlatformException.Forbidden("Only site admins list every group.");
    }

    public Task<int> CountInvitationsAsync(Guid userId, CancellationToken ct) =>
        Members.CountAsync(m => m.UserId == userId && m.Status == MembershipStatus.Invited, ct);

    public Task<int> CountOwnedAsync(Guid userId, CancellationToken ct) =>
        Members.CountAsync(m => m.UserId == userId && m.Status == MembershipStatus.Accepted && m.Role == GroupRole.Owner, ct);

    /// <summary>One group. Private groups are visible to their members, invitees and site admins only.</summary>
    public async Task<GroupResponse> GetAsync(Caller caller, long id, CancellationToken ct)
    {
        var group = await LoadVisibleAsync(caller, id, ct);
        return ToResponse(group, caller);
    }

    public async Task<GroupResponse> CreateAsync(Caller caller, string? name, string? description, GroupAccessibility accessibility, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var (validName, nameError) = GroupNames.Validate(name);
        if (nameError is not null)
        {
            throw PlatformException.Invalid(nameError, "name");
        }

        var (text, descriptionError) = GroupNames.ValidateDescription(description);
        if (descriptionError is not null)
        {
            throw PlatformException.Invalid(descriptionError, "description");
        }

        if (accessibility == GroupAccessibility.System)
        {
            throw PlatformException.Invalid("Only the platform creates system groups; choose Private or Public.", "accessibility");
        }

        var normalized = GroupNames.Normalize(validName);
        if (await Groups.AnyAsync(g => g.NormalizedName == normalized, ct))
        {
            throw PlatformException.Conflict($"A group named '{validName}' exists already.", "name");
        }

        var now = time.GetUtcNow();
        var group = new Group { Name = validName, NormalizedName = normalized, Description = text, Accessibility = accessibility, CreatedAt = now };
        group.Members.Add(new GroupMember { UserId = caller.UserId, Role = GroupRole.Owner, Status = MembershipStatus.Accepted, InvitedAt = now, RespondedAt = now });
        Groups.Add(group);
        await SaveUniqueAsync(validName, ct);
        await directory.RecordAsync(group.Id, GroupEventKind.Created, caller.UserName, $"created the group ({accessibility.ToString().ToLowerInvariant()})", ct);
        access.Invalidate();
        Log.GroupCreated(logger, group.Name, caller.UserName);
        return await GetAsync(caller, group.Id, ct);
    }

    /// <summary>Renames, re-describes or changes who may see the group (owners and group admins).</summary>
    public async Task<GroupResponse> UpdateAsync(Caller caller, long id, string? name, string? description, GroupAccessibility? accessibility, CancellationToken ct)
    {
        var group = await LoadManagedAsync(caller, id, ct);
        var changes = new List<string>();
        if (name is not null && name.Trim() != group.Name)
        {
            var (validName, error) = GroupNames.Validate(name);
            if (error is not null)
            {
                throw PlatformException.Invalid(error, "name");
            }

            var normalized = GroupNames.Normalize(validName);
            if (normalized != group.NormalizedName && await Groups.AnyAsync(g => g.NormalizedName == normalized, ct))
            {
                throw PlatformException.Conflict($"A group named '{validName}' exists already.", "name");
            }

            changes.Add($"renamed it from '{group.Name}' to '{validName}'");
            group.Name = validName;
            group.NormalizedName = normalized;
        }

        if (description is not null)
        {
            var (text, error) = GroupNames.ValidateDescription(description);
            if (error is not null)
            {
                throw PlatformException.Invalid(error, "description");
            }

            if (text != group.Description)
            {
                changes.Add("changed the description");
                group.Description = text;
            }
        }

        if (accessibility is { } a && a != group.Accessibility)
        {
            if (a == GroupAccessibility.System)
            {
                throw PlatformException.Invalid("Choose Private or Public.", "accessibility");
            }

            changes.Add($"made it {a.ToString().ToLowerInvariant()}");
            group.Accessibility = a;
        }

        if (changes.Count > 0)
        {
            await directory.RecordAsync(group.Id, GroupEventKind.Updated, caller.UserName, string.Join("; ", changes), ct, save: false);
            await SaveUniqueAsync(group.Name, ct);
        }

        return await GetAsync(caller, group.Id, ct);
    }

    /// <summary>Deletes a group and everything shared with it (owners and site admins).</summary>
    public async Task DeleteAsync(Caller caller, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var group = await LoadVisibleAsync(caller, id, ct);
        if (!caller.IsAdmin && !IsAccepted(group, caller.UserId, GroupRole.Owner))
        {
            throw PlatformException.Forbidden("Only the group's owners can delete it.");
        }

        await access.RemoveGroupPrivilegesAsync(group.Id, ct);
        Groups.Remove(group);
        await db.SaveChangesAsync(ct);
        access.Invalidate();
        Log.GroupDeleted(logger, group.Name, caller.UserName);
    }

    /// <summary>Invites an existing user by user name or email (owners and group admins).</summary>
    public async Task<GroupResponse> InviteAsync(Caller caller, long id, string? user, GroupRole role, CancellationToken ct)
    {
        var group = await LoadManagedAsync(caller, id, ct);
        if (role == GroupRole.Owner && !caller.IsAdmin && !IsAccepted(group, caller.UserId, GroupRole.Owner))
        {
            throw PlatformException.Forbidden("Only owners can invite someone as an owner.");
        }

        if (string.IsNullOrWhiteSpace(user))
        {
            throw PlatformException.Invalid("Name the user to invite, by user name or email.", "user");
        }

        var invitee = await accounts.FindByNameOrEmailAsync(user, ct)
            ?? throw PlatformException.Invalid($"There is no user '{user.Trim()}'. Invite people who have an account here, by user name or email.", "user");
        if (invitee.Status != UserStatus.Active)
        {
            throw PlatformException.Invalid($"The account '{invitee.UserName}' is not active.", "user");
        }

        if (invitee.Id == caller.UserId)
        {
            throw PlatformException.Invalid("You cannot invite yourself.", "user");
        }

        var existing = group.Members.FirstOrDefault(m => m.UserId == invitee.Id);
        switch (existing?.Status)
        {
            case MembershipStatus.Accepted:
                throw PlatformException.Conflict($"{invitee.UserName} is a member already.", "user");
            case MembershipStatus.Invited:
                throw PlatformException.Conflict($"{invitee.UserName} is invited already.", "user");
            case MembershipStatus.Declined:
            case MembershipStatus.Withdrawn:
            case null:
                break;
        }

        var now = time.GetUtcNow();
        if (existing is null)
        {
            existing = new GroupMember { GroupId = group.Id, UserId = invitee.Id };
            group.Members.Add(existing);
        }

        existing.Role = role;
        existing.Status = MembershipStatus.Invited;
        existing.InvitedBy = caller.UserId;
        existing.InvitedAt = now;
        existing.RespondedAt = null;
        await directory.RecordAsync(group.Id, GroupEventKind.Invited, caller.UserName, $"invited {invitee.UserName} as {RoleName(role)}", ct, save: false);
        await SaveRacingAsync("The invitation crossed another change to this membership; reload and try again.", ct);
        return await GetAsync(caller, group.Id, ct);
    }

    /// <summary>Takes back an invitation that is still open (owners and group admins).</summary>
    public async Task<GroupResponse> WithdrawAsync(Caller caller, long id, Guid userId, CancellationToken ct)
    {
        var group = await LoadManagedAsync(caller, id, ct);
        var invitation = group.Members.FirstOrDefault(m => m.UserId == userId && m.Status == MembershipStatus.Invited)
            ?? throw PlatformException.NotFound("There is no open invitation for this user.");
        invitation.Status = MembershipStatus.Withdrawn;
        invitation.RespondedAt = time.GetUtcNow();
        await directory.RecordAsync(group.Id, GroupEventKind.Withdrawn, caller.UserName, $"withdrew the invitation of {await NameOfAsync(userId, ct)}", ct, save: false);
        await db.SaveChangesAsync(ct);
        return await GetAsync(caller, group.Id, ct);
    }

    public async Task<GroupResponse> AcceptAsync(Caller caller, long id, CancellationToken ct)
    {
        await RespondAsync(caller, id, accept: true, ct);
        return await GetAsync(caller, id, ct);
    }

    /// <summary>Declines an invitation; a private group then disappears from the caller's view.</summary>
    public Task DeclineAsync(Caller caller, long id, CancellationToken ct) => RespondAsync(caller, id, accept: false, ct);

    /// <summary>Joins a public group (or accepts an invitation to it).</summary>
    public async Task<GroupResponse> JoinAsync(Caller caller, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var group = await LoadVisibleAsync(caller, id, ct);
        var mine = group.Members.FirstOrDefault(m => m.UserId == caller.UserId);
        if (mine?.Status == MembershipStatus.Accepted)
        {
            throw PlatformException.Conflict("You are a member already.");
        }

        if (mine?.Status == MembershipStatus.Invited)
        {
            return await AcceptAsync(caller, id, ct);
        }

        if (group.Accessibility != GroupAccessibility.Public)
        {
            throw group.Accessibility == GroupAccessibility.System
                ? PlatformException.Invalid("Membership of system groups is managed by the platform.")
                : PlatformException.NotFound("No such group.");
        }

        var now = time.GetUtcNow();
        if (mine is null)
        {
            mine = new GroupMember { GroupId = group.Id, UserId = caller.UserId };
            group.Members.Add(mine);
        }

        mine.Role = GroupRole.Member;
        mine.Status = MembershipStatus.Accepted;
        mine.InvitedAt = now;
        mine.RespondedAt = now;
        await directory.RecordAsync(group.Id, GroupEventKind.Joined, caller.UserName, "joined the group", ct, save: false);
        await SaveRacingAsync("Your membership changed at the same moment; reload and try again.", ct);
        access.Invalidate();
        return await GetAsync(caller, group.Id, ct);
    }

    /// <summary>Leaves a group. The last owner must hand ownership to someone else first.</summary>
    public async Task LeaveAsync(Caller caller, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var group = await LoadVisibleAsync(caller, id, ct);
        var mine = group.Members.FirstOrDefault(m => m.UserId == caller.UserId && m.Status == MembershipStatus.Accepted)
            ?? throw PlatformException.Invalid("You are not a member of this group.");
        EnsureAnotherOwner(group, mine, "You are the group's last owner: make another member an owner before you leave, or delete the group.");
        group.Members.Remove(mine);
        Members.Remove(mine);
        await directory.RecordAsync(group.Id, GroupEventKind.Left, caller.UserName, "left the group", ct, save: false);
        await db.SaveChangesAsync(ct);
        access.Invalidate();
    }

    /// <summary>Promotes or demotes a member (owners; group admins for members and admins only).</summary>
    public async Task<GroupResponse> SetRoleAsync(Caller caller, long id, Guid userId, GroupRole role, CancellationToken ct)
    {
        var group = await LoadManagedAsync(caller, id, ct);
        if (userId == caller.UserId)
        {
            throw PlatformException.Invalid("You cannot change your own role; another owner or admin can.");
        }

        var target = group.Members.FirstOrDefault(m => m.UserId == userId && m.Status == MembershipStatus.Accepted)
            ?? throw PlatformException.NotFound("This user is not a member of the group.");
        var actorIsOwner = caller.IsAdmin || IsAccepted(group, caller.UserId, GroupRole.Owner);
        if (!actorIsOwner && (target.Role == GroupRole.Owner || role == GroupRole.Owner))
        {
            throw PlatformException.Forbidden("Only owners can make or unmake owners.");
        }

        if (target.Role == role)
        {
            return ToResponse(group, caller);
        }

        if (target.Role == GroupRole.Owner)
        {
            EnsureAnotherOwner(group, target, "This is the group's last owner: make another member an owner first.");
        }

        var before = target.Role;
        target.Role = role;
        await directory.RecordAsync(group.Id, GroupEventKind.RoleChanged, caller.UserName,
            $"changed the role of {await NameOfAsync(userId, ct)} from {RoleName(before)} to {RoleName(role)}", ct, save: false);
        await db.SaveChangesAsync(ct);
        return await GetAsync(caller, group.Id, ct);
    }

    /// <summary>Removes a member (owners; group admins for members and admins only).</summary>
    public async Task<GroupResponse> RemoveMemberAsync(Caller caller, long id, Guid userId, CancellationToken ct)
    {
        var group = await LoadManagedAsync(caller, id, ct);
        if (userId == caller.UserId)
        {
            throw PlatformException.Invalid("To remove yourself, leave the group.");
        }

        var target = group.Members.FirstOrDefault(m => m.UserId == userId && m.Status == MembershipStatus.Accepted)
            ?? throw PlatformException.NotFound("This user is not a member of the group.");
        if (target.Role == GroupRole.Owner)
        {
            if (!caller.IsAdmin && !IsAccepted(group, caller.UserId, GroupRole.Owner))
            {
                throw PlatformException.Forbidden("Only owners can remove an owner.");
            }

            EnsureAnotherOwner(group, target, "This is the group's last owner and cannot be removed.");
        }

        group.Members.Remove(target);
        Members.Remove(target);
        await directory.RecordAsync(group.Id, GroupEventKind.Removed, caller.UserName, $"removed {await NameOfAsync(userId, ct)}", ct, save: false);
        await db.SaveChangesAsync(ct);
        access.Invalidate();
        return await GetAsync(caller, group.Id, ct);
    }

    /// <summary>The group's activity log, newest first (owners, group admins and site admins).</summary>
    public async Task<IReadOnlyList<GroupEventResponse>> ActivityAsync(Caller caller, long id, int limit, CancellationToken ct)
    {
        var group = await LoadManagedAsync(caller, id, ct, "Only the group's owners and admins see its activity log.");
        var take = Math.Clamp(limit, 1, 500);
        return await db.Set<GroupEvent>().AsNoTracking().Where(e => e.GroupId == group.Id)
            .OrderByDescending(e => e.Id).Take(take)
            .Select(e => new GroupEventResponse(e.Id, e.At, e.Kind, e.Actor, e.Detail)).ToListAsync(ct);
    }

    /// <summary>What has been shared with the group (members, invitees and site admins).</summary>
    public async Task<IReadOnlyList<AccessibleResource>> SharedResourcesAsync(Caller caller, long id, CancellationToken ct)
    {
        var group = await LoadVisibleAsync(caller, id, ct);
        if (!caller.IsAdmin && group.Members.All(m => m.UserId != caller.UserId || m.Status is not (MembershipStatus.Accepted or MembershipStatus.Invited)))
        {
            throw PlatformException.Forbidden("Only members see what is shared with the group.");
        }

        return await access.SharedWithGroupAsync(group.Id, ct);
    }

    private async Task RespondAsync(Caller caller, long id, bool accept, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var group = await LoadVisibleAsync(caller, id, ct);
        var invitation = group.Members.FirstOrDefault(m => m.UserId == caller.UserId && m.Status == MembershipStatus.Invited)
            ?? throw PlatformException.NotFound("You have no open invitation to this group.");
        invitation.Status = accept ? MembershipStatus.Accepted : MembershipStatus.Declined;
        invitation.RespondedAt = time.GetUtcNow();
        await directory.RecordAsync(group.Id, accept ? GroupEventKind.Accepted : GroupEventKind.Declined, caller.UserName,
            accept ? $"accepted the invitation and joined as {RoleName(invitation.Role)}" : "declined the invitation", ct, save: false);
        await db.SaveChangesAsync(ct);
        access.Invalidate();
    }

    private async Task<IReadOnlyList<GroupResponse>> ListAsync(Caller caller, System.Linq.Expressions.Expression<Func<Group, bool>> filter, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var groups = await Groups.AsNoTracking().Include(g => g.Members).ThenInclude(m => m.User)
            .Where(g => g.Accessibility != GroupAccessibility.System).Where(filter)
            .OrderBy(g => g.NormalizedName).ToListAsync(ct);
        return groups.Select(g => ToResponse(g, caller)).ToList();
    }

    /// <summary>The group, if the caller may see it: members, invitees, site admins, and anyone for public groups.</summary>
    private async Task<Group> LoadVisibleAsync(Caller caller, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var group = await Groups.Include(g => g.Members).ThenInclude(m => m.User).FirstOrDefaultAsync(g => g.Id == id, ct);
        var visible = group is not null && group.Accessibility != GroupAccessibility.System
            && (caller.IsAdmin || group.Accessibility == GroupAccessibility.Public
                || group.Members.Any(m => m.UserId == caller.UserId && m.Status is MembershipStatus.Accepted or MembershipStatus.Invited));
        return visible ? group! : throw PlatformException.NotFound("No such group.");
    }

    private async Task<Group> LoadManagedAsync(Caller caller, long id, CancellationToken ct, string? message = null)
    {
        var group = await LoadVisibleAsync(caller, id, ct);
        if (!caller.IsAdmin && !IsAccepted(group, caller.UserId, GroupRole.Owner) && !IsAccepted(group, caller.UserId, GroupRole.Admin))
        {
            throw PlatformException.Forbidden(message ?? "Only the group's owners and admins can do this.");
        }

        return group;
    }

    private static bool IsAccepted(Group group, Guid userId, GroupRole role) =>
        group.Members.Any(m => m.UserId == userId && m.Status == MembershipStatus.Accepted && m.Role == role);

    private static void EnsureAnotherOwner(Group group, GroupMember leaving, string message)
    {
        if (leaving.Role == GroupRole.Owner
            && !group.Members.Any(m => m.UserId != leaving.UserId && m.Status == MembershipStatus.Accepted && m.Role == GroupRole.Owner))
        {
            throw PlatformException.Invalid(message);
        }
    }

    private async Task SaveUniqueAsync(string name, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Two requests raced past the name check; the unique index decided.
            db.ChangeTracker.Clear();
            throw PlatformException.Conflict($"A group named '{name}' exists already.", "name");
        }
    }

    /// <summary>Saves a membership row; two requests adding the same one at once get a 409, not a 500.</summary>
    private async Task SaveRacingAsync(string message, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            throw PlatformException.Conflict(message);
        }
    }

    private async Task<string> NameOfAsync(Guid userId, CancellationToken ct) =>
        (await accounts.NamesAsync([userId], ct)).GetValueOrDefault(userId, "a deleted user");

    internal static string RoleName(GroupRole role) => role.ToString().ToLowerInvariant();

    private static GroupResponse ToResponse(Group g, Caller caller)
    {
        var mine = g.Members.FirstOrDefault(m => m.UserId == caller.UserId && m.Status is MembershipStatus.Accepted or MembershipStatus.Invited);
        var members = g.Members
            .Where(m => m.Status is MembershipStatus.Accepted or MembershipStatus.Invited)
            .OrderByDescending(m => m.Status == MembershipStatus.Accepted).ThenByDescending(m => m.Role).ThenBy(m => m.User?.UserName, StringComparer.Ordinal)
            .Select(m => new GroupMemberResponse(m.UserId, m.User?.UserName ?? "", m.Role, m.Status, m.InvitedAt, m.RespondedAt))
            .ToList();
        return new GroupResponse(g.Id, g.Name, g.Description, g.Accessibility, g.CreatedAt, mine?.Role, mine?.Status,
            members.Count(m => m.Status == MembershipStatus.Accepted), members);
    }
}

internal static partial class Log
{
    [LoggerMessage(1100, LogLevel.Information, "Group {Group} created by {UserName}")]
    public static partial void GroupCreated(ILogger logger, string group, string userName);

    [LoggerMessage(1101, LogLevel.Information, "Group {Group} deleted by {UserName}")]
    public static partial void GroupDeleted(ILogger logger, string group, string userName);
}
