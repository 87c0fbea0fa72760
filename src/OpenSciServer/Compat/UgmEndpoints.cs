using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Groups;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compat;

// SciServer's UGM shapes (RACM GroupInfo, MemberUserModel, UserInfo). Enum values travel upper case.
// UserInfo also has fullname and affiliation; this server keeps neither, so they are left out.

public sealed record UgmUser(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("username")] string Username);

public sealed record UgmMember(
    [property: JsonPropertyName("user")] UgmUser User,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("status")] string Status);

public sealed record UgmGroup(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("groupName")] string GroupName,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("accessibility")] string Accessibility,
    [property: JsonPropertyName("owner")] UgmUser? Owner,
    [property: JsonPropertyName("memberUsers")] IReadOnlyList<UgmMember> MemberUsers);

/// <summary>POST /groups: a group to create, or (with <c>id</c>) to update. <c>name</c> is an alias of <c>groupName</c>, as in RACM.</summary>
public sealed record UgmGroupRequest(
    [property: JsonPropertyName("id"), JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)] long? Id = null,
    [property: JsonPropertyName("groupName")] string? GroupName = null,
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("description")] string? Description = null,
    [property: JsonPropertyName("accessibility")] string? Accessibility = null,
    [property: JsonPropertyName("memberUsers")] IReadOnlyList<UgmMemberRequest?>? MemberUsers = null);

/// <summary>A listed member: <c>{user:{id}}</c>, <c>{user:{username}}</c> or <c>{username}</c>; role and status optional.</summary>
public sealed record UgmMemberRequest(
    [property: JsonPropertyName("user")] UgmUserRequest? User = null,
    [property: JsonPropertyName("username")] string? Username = null,
    [property: JsonPropertyName("role")] string? Role = null,
    [property: JsonPropertyName("status")] string? Status = null);

public sealed record UgmUserRequest(
    [property: JsonPropertyName("id")] string? Id = null,
    [property: JsonPropertyName("username")] string? Username = null);

/// <summary>PATCH /groups/{id}: only the fields present change.</summary>
public sealed record UgmUpdateRequest(
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("groupName")] string? GroupName = null,
    [property: JsonPropertyName("description")] string? Description = null,
    [property: JsonPropertyName("accessibility")] string? Accessibility = null);

/// <summary>
/// SciServer's group routes (RACM UGM, <c>/racm/ugm/rest</c>), adapters onto <see cref="GroupService"/>.
/// Reply shapes follow RACM: the group for reads, create, accept and decline; <c>"OK"</c> for delete and
/// leave; <c>true</c> for join; 204 for PATCH.
/// </summary>
public static class UgmEndpoints
{
    public const string Prefix = "/racm/ugm/rest";

    private const int MaxEchoLength = 64;

    private const string GroupIdHelp = "The group's id, a number.";

    /// <summary>SciServer's member statuses; OWNER is how it shows an owner who is in the group.</summary>
    private enum UgmStatus
    {
        Invited,
        Accepted,
        Declined,
        Withdrawn,
        Owner,
    }

    public static IEndpointRouteBuilder MapUgmEndpoints(this IEndpointRouteBuilder app)
    {
        var ugm = app.MapGroup(Prefix).WithTags("SciServer: Groups (UGM)").RequireAuthorization().RequireCors(PlatformCors.Api);
        ugm.MapGet("/groups", ListMineAsync).WithName("UgmListGroups")
            .WithSummary("Groups you belong to or are invited to, with their members.");
        ugm.MapGet("/mygroups", ListEditableAsync).WithName("UgmListMyGroups")
            .WithSummary("Groups you can edit: you are their OWNER or ADMIN.");
        ugm.MapGet("/publicgroups", ListPublicAsync).WithName("UgmListPublicGroups")
            .WithSummary("Public groups, which anyone may join.");
        ugm.MapGet("/groups/{id:long}", GetAsync).WithName("UgmGetGroup")
            .WithSummary("One group (404 if it does not exist or is private and not yours).");
        ugm.MapDelete("/groups/{id:long}", DeleteAsync).WithName("UgmDeleteGroup")
            .WithSummary("Delete a group (owners); replies \"OK\".");
        ugm.MapPost("/groups", SaveAsync).WithName("UgmSaveGroup")
            .WithSummary("Create a group, or update it when the body has an id; listed users not yet in the group are invited.");
        ugm.MapPatch("/groups/{id:long}", UpdateAsync).WithName("UgmUpdateGroup")
            .WithSummary("Change name, description or accessibility (owners and group admins); 204.");
        ugm.MapPost("/groups/accept", AcceptAsync).WithName("UgmAcceptInvitation")
            .WithSummary("Accept your invitation to the group ?groupId=.");
        ugm.MapPost("/groups/decline", DeclineAsync).WithName("UgmDeclineInvitation")
            .WithSummary("Decline your invitation to the group ?groupId=.");
        ugm.MapPost("/groups/join", JoinAsync).WithName("UgmJoinGroup")
            .WithSummary("Join the public group ?groupId=; replies true.");
        ugm.MapPost("/groups/leave", LeaveAsync).WithName("UgmLeaveGroup")
            .WithSummary("Leave the group ?groupId= (the last owner must hand over first); replies \"OK\".");
        return app;
    }

    private static async Task<Ok<List<UgmGroup>>> ListMineAsync(ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var member = await groups.ListMineAsync(caller, ct);
        var invited = await groups.ListInvitationsAsync(caller, ct);
        return TypedResults.Ok(member.Concat(invited).OrderBy(g => g.Name, StringComparer.OrdinalIgnoreCase).Select(ToUgm).ToList());
    }

    private static async Task<Ok<List<UgmGroup>>> ListEditableAsync(ClaimsPrincipal user, GroupService groups, CancellationToken ct) =>
        TypedResults.Ok((await groups.ListMineAsync(Caller.From(user), ct))
            .Where(g => g.MyStatus == MembershipStatus.Accepted && g.MyRole is GroupRole.Owner or GroupRole.Admin)
            .Select(ToUgm).ToList());

    private static async Task<Ok<List<UgmGroup>>> ListPublicAsync(ClaimsPrincipal user, GroupService groups, CancellationToken ct) =>
        TypedResults.Ok((await groups.ListPublicAsync(Caller.From(user), ct)).Select(ToUgm).ToList());

    private static async Task<Ok<UgmGroup>> GetAsync(long id, ClaimsPrincipal user, GroupService groups, CancellationToken ct) =>
        TypedResults.Ok(ToUgm(await groups.GetAsync(Caller.From(user), id, ct)));

    private static async Task<Ok<string>> DeleteAsync(long id, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        await groups.DeleteAsync(Caller.From(user), id, ct);
        return TypedResults.Ok("OK");
    }

    private static async Task<NoContent> UpdateAsync(long id, UgmUpdateRequest? request, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        if (request is null)
        {
            throw PlatformException.Invalid("Send the changes as JSON: {\"name\": ..., \"description\": ..., \"accessibility\": \"PUBLIC\" or \"PRIVATE\"}.");
        }

        await groups.UpdateAsync(Caller.From(user), id, request.Name ?? request.GroupName, request.Description, ParseAccessibility(request.Accessibility), ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// RACM's create-or-update. Everything is checked before anything changes: the group's fields by the
    /// service (which refuses before writing), the listed users here (they must exist and be active), so a
    /// bad invitee leaves no half-made group behind.
    /// </summary>
    private static async Task<Ok<UgmGroup>> SaveAsync(
        UgmGroupRequest? request, ClaimsPrincipal user, GroupService groups, AccountService accounts, CancellationToken ct)
    {
        if (request is null)
        {
            throw PlatformException.Invalid("Send the group as JSON: {\"groupName\": ..., \"description\": ..., \"accessibility\": \"PRIVATE\" or \"PUBLIC\", \"memberUsers\": [{\"user\": {\"username\": ...}, \"role\": \"MEMBER\"}]}.");
        }

        var caller = Caller.From(user);
        var name = request.GroupName ?? request.Name;
        var accessibility = ParseAccessibility(request.Accessibility);
        var current = request.Id is { } id ? await groups.GetAsync(caller, id, ct) : null;
        var invitations = await InvitationsAsync(caller, current, request.MemberUsers ?? [], accounts, ct);

        if (current is null)
        {
            var created = await groups.CreateAsync(caller, name, request.Description, accessibility ?? GroupAccessibility.Private, ct);
            try
            {
                return TypedResults.Ok(ToUgm(await InviteAllAsync(groups, caller, created, invitations, ct)));
            }
            catch (Exception)
            {
                // Checked above, so only a concurrent change (or a cancelled request) gets here; take the new
                // group back rather than leave it half made.
                await groups.DeleteAsync(caller, created.Id, CancellationToken.None);
                throw;
            }
        }

        // The service checks that the caller manages the group before it changes anything, also when nothing but invitations is asked.
        var updated = await groups.UpdateAsync(caller, current.Id, name, request.Description, accessibility, ct);
        return TypedResults.Ok(ToUgm(await InviteAllAsync(groups, caller, updated, invitations, ct)));
    }

    private static async Task<Ok<UgmGroup>> AcceptAsync([Description(GroupIdHelp)] string? groupId, ClaimsPrincipal user, GroupService groups, CancellationToken ct) =>
        TypedResults.Ok(ToUgm(await groups.AcceptAsync(Caller.From(user), ParseGroupId(groupId), ct)));

    /// <summary>Replies with the group as it was, the caller's invitation shown as declined (after it, a private group is out of the caller's sight).</summary>
    private static async Task<Ok<UgmGroup>> DeclineAsync([Description(GroupIdHelp)] string? groupId, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var id = ParseGroupId(groupId);
        // After declining, a private group is out of the caller's sight: read it first.
        var before = await groups.GetAsync(caller, id, ct);
        await groups.DeclineAsync(caller, id, ct);

        var shown = ToUgm(before);
        var me = caller.UserId.ToString();
        return TypedResults.Ok(shown with
        {
            MemberUsers = shown.MemberUsers.Select(m => m.User.Id == me ? m with { Status = StatusName(UgmStatus.Declined) } : m).ToList(),
        });
    }

    private static async Task<Ok<bool>> JoinAsync([Description(GroupIdHelp)] string? groupId, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        await groups.JoinAsync(Caller.From(user), ParseGroupId(groupId), ct);
        return TypedResults.Ok(true);
    }

    private static async Task<Ok<string>> LeaveAsync([Description(GroupIdHelp)] string? groupId, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        await groups.LeaveAsync(Caller.From(user), ParseGroupId(groupId), ct);
        return TypedResults.Ok("OK");
    }

    private sealed record Invitation(string UserName, GroupRole Role);

    /// <summary>
    /// The users of <c>memberUsers</c> to invite: those not yet in the group (members and open
    /// invitations are left as they are). Withdrawing, removing and changing roles are not done here;
    /// asking for them is refused rather than ignored, so nobody believes a member was removed.
    /// </summary>
    private static async Task<List<Invitation>> InvitationsAsync(
        Caller caller, GroupResponse? current, IReadOnlyList<UgmMemberRequest?> listed, AccountService accounts, CancellationToken ct)
    {
        var invitations = new List<Invitation>();
        var seen = new HashSet<Guid>();
        foreach (var entry in listed)
        {
            if (entry is null)
            {
                continue;
            }

            var role = ParseEnum<GroupRole>(entry.Role, "role");
            var status = ParseEnum<UgmStatus>(entry.Status, "status");
            var account = await ResolveUserAsync(entry, accounts, ct);
            if (!seen.Add(account.Id))
            {
                continue;
            }

            var existing = current?.Members.FirstOrDefault(m => m.UserId == account.Id);
            if (existing is not null || (current is null && account.Id == caller.UserId))
            {
                var groupPath = $"/api/groups/{current?.Id.ToString(CultureInfo.InvariantCulture) ?? "{id}"}";
                if (status is UgmStatus.Withdrawn or UgmStatus.Declined)
                {
                    throw PlatformException.Invalid(
                        $"POST /groups only invites. To withdraw {account.UserName}'s invitation or remove them, use DELETE {groupPath}/invitations/{account.Id} or {groupPath}/members/{account.Id}.", "memberUsers");
                }

                // The creator becomes the owner.
                var currentRole = existing?.Role ?? GroupRole.Owner;
                if (role is { } wanted && wanted != currentRole)
                {
                    throw PlatformException.Invalid(
                        $"{account.UserName} is {RoleName(currentRole)} of this group; POST /groups does not change roles. Use PUT {groupPath}/members/{account.Id}/role.", "memberUsers");
                }

                continue;
            }

            if (account.Id == caller.UserId)
            {
                throw PlatformException.Invalid("You cannot invite yourself.", "memberUsers");
            }

            if (status is UgmStatus.Withdrawn or UgmStatus.Declined)
            {
                // Not in the group, as asked.
                continue;
            }

            if (role == GroupRole.Owner)
            {
                throw PlatformException.Invalid($"Invite {account.UserName} as MEMBER or ADMIN; an owner makes a member an owner after they joined.", "memberUsers");
            }

            if (account.Status != UserStatus.Active)
            {
                throw PlatformException.Invalid($"The account '{account.UserName}' is not active.", "memberUsers");
            }

            invitations.Add(new Invitation(account.UserName, role ?? GroupRole.Member));
        }

        return invitations;
    }

    private static async Task<GroupResponse> InviteAllAsync(GroupService groups, Caller caller, GroupResponse group, List<Invitation> invitations, CancellationToken ct)
    {
        foreach (var invitation in invitations)
        {
            group = await groups.InviteAsync(caller, group.Id, invitation.UserName, invitation.Role, ct);
        }

        return group;
    }

    private static async Task<User> ResolveUserAsync(UgmMemberRequest entry, AccountService accounts, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(entry.User?.Id))
        {
            var text = entry.User.Id.Trim();
            if (!Guid.TryParse(text, out var id))
            {
                throw PlatformException.Invalid($"'{Echo(text)}' is not a user id of this server (they look like 0193a1c2-7d7e-7c3a-9f1e-2b6f8a1d4c55); or name the user: {{\"user\": {{\"username\": ...}}}}.", "memberUsers");
            }

            var names = await accounts.NamesAsync([id], ct);
            return names.TryGetValue(id, out var byId) && await accounts.FindByNameAsync(byId, ct) is { } found
                ? found
                : throw PlatformException.Invalid($"There is no user with id {id}.", "memberUsers");
        }

        var name = entry.User?.Username ?? entry.Username;
        if (string.IsNullOrWhiteSpace(name))
        {
            throw PlatformException.Invalid("Each entry of memberUsers names a user: {\"user\": {\"username\": ...}}, {\"user\": {\"id\": ...}} or {\"username\": ...}.", "memberUsers");
        }

        return await accounts.FindByNameOrEmailAsync(name, ct)
            ?? throw PlatformException.Invalid($"There is no user '{Echo(name.Trim())}'. Invite people who have an account here, by user name or email.", "memberUsers");
    }

    private static long ParseGroupId(string? groupId)
    {
        if (string.IsNullOrWhiteSpace(groupId))
        {
            throw PlatformException.Invalid("Name the group: ?groupId=<the group's id, a number>.", "groupId");
        }

        return long.TryParse(groupId.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw PlatformException.Invalid($"groupId is a group's id, a number; '{Echo(groupId)}' is not.", "groupId");
    }

    private static GroupAccessibility? ParseAccessibility(string? value) => ParseEnum<GroupAccessibility>(value, "accessibility");

    /// <summary>Python clients write enum values in any case; digits are not names.</summary>
    private static T? ParseEnum<T>(string? value, string field)
        where T : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        foreach (var name in Enum.GetNames<T>())
        {
            if (string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return Enum.Parse<T>(name);
            }
        }

        throw PlatformException.Invalid(
            $"{field} is one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToUpperInvariant()))}; '{Echo(value)}' is not.", field);
    }

    private static string Echo(string value) => value.Length <= MaxEchoLength ? value : value[..MaxEchoLength] + "...";

    private static UgmGroup ToUgm(GroupResponse g)
    {
        var owner = g.Members.FirstOrDefault(m => m.Status == MembershipStatus.Accepted && m.Role == GroupRole.Owner);
        return new UgmGroup(
            g.Id, g.Name, g.Description, AccessibilityName(g.Accessibility), owner is null ? null : ToUgm(owner),
            g.Members.Select(m => new UgmMember(ToUgm(m), RoleName(m.Role), StatusName(ToStatus(m)))).ToList());
    }

    private static UgmUser ToUgm(GroupMemberResponse m) => new(m.UserId.ToString(), m.Username);

    private static UgmStatus ToStatus(GroupMemberResponse m) => m.Status switch
    {
        MembershipStatus.Invited => UgmStatus.Invited,
        MembershipStatus.Accepted => m.Role == GroupRole.Owner ? UgmStatus.Owner : UgmStatus.Accepted,
        MembershipStatus.Declined => UgmStatus.Declined,
        MembershipStatus.Withdrawn => UgmStatus.Withdrawn,
    };

    private static string AccessibilityName(GroupAccessibility a) => a switch
    {
        GroupAccessibility.Private => "PRIVATE",
        GroupAccessibility.Public => "PUBLIC",
        GroupAccessibility.System => "SYSTEM",
    };

    private static string RoleName(GroupRole r) => r switch
    {
        GroupRole.Member => "MEMBER",
        GroupRole.Admin => "ADMIN",
        GroupRole.Owner => "OWNER",
    };

    private static string StatusName(UgmStatus s) => s switch
    {
        UgmStatus.Invited => "INVITED",
        UgmStatus.Accepted => "ACCEPTED",
        UgmStatus.Declined => "DECLINED",
        UgmStatus.Withdrawn => "WITHDRAWN",
        UgmStatus.Owner => "OWNER",
    };
}
