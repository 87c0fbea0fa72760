using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Groups;

public sealed record CreateGroupRequest(string? Name, string? Description, GroupAccessibility? Accessibility);

public sealed record UpdateGroupRequest(string? Name, string? Description, GroupAccessibility? Accessibility);

/// <summary>Invite by user name or email.</summary>
public sealed record InviteRequest(string? User, GroupRole? Role);

public sealed record SetRoleRequest(GroupRole? Role);

public sealed record SharedResourceResponse(Guid Id, string Type, string Name, string? Owner, IReadOnlyList<string> Actions);

/// <summary>The native groups API (<c>/api/groups</c>); the SciServer UGM routes adapt the same service.</summary>
public static class GroupEndpoints
{
    public static IEndpointRouteBuilder MapGroupEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/groups").WithTags("Groups").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("/", ListAsync).WithName("ListGroups")
            .WithSummary("Groups: scope=mine (default), invitations, public, or all (site admins).");
        api.MapPost("/", CreateAsync).WithName("CreateGroup").WithSummary("Create a group; you become its owner.");
        api.MapGet("/{id:long}", (long id, ClaimsPrincipal u, GroupService s, CancellationToken ct) => Ok(s.GetAsync(Caller.From(u), id, ct)))
            .WithName("GetGroup").WithSummary("A group with its members and invitations.");
        api.MapPatch("/{id:long}", (long id, UpdateGroupRequest r, ClaimsPrincipal u, GroupService s, CancellationToken ct) =>
                Ok(s.UpdateAsync(Caller.From(u), id, r.Name, r.Description, r.Accessibility, ct)))
            .WithName("UpdateGroup").WithSummary("Rename, describe, or change accessibility (owners and group admins).");
        api.MapDelete("/{id:long}", DeleteAsync).WithName("DeleteGroup").WithSummary("Delete a group (owners).");
        api.MapPost("/{id:long}/invitations", (long id, InviteRequest r, ClaimsPrincipal u, GroupService s, CancellationToken ct) =>
                Ok(s.InviteAsync(Caller.From(u), id, r.User, r.Role ?? GroupRole.Member, ct)))
            .WithName("InviteToGroup").WithSummary("Invite an existing user by user name or email (owners and group admins).");
        api.MapDelete("/{id:long}/invitations/{userId:guid}", (long id, Guid userId, ClaimsPrincipal u, GroupService s, CancellationToken ct) =>
                Ok(s.WithdrawAsync(Caller.From(u), id, userId, ct)))
            .WithName("WithdrawInvitation").WithSummary("Withdraw an open invitation.");
        api.MapPost("/{id:long}/accept", (long id, ClaimsPrincipal u, GroupService s, CancellationToken ct) => Ok(s.AcceptAsync(Caller.From(u), id, ct)))
            .WithName("AcceptInvitation").WithSummary("Accept your invitation.");
        api.MapPost("/{id:long}/decline", DeclineAsync)
            .WithName("DeclineInvitation").WithSummary("Decline your invitation.");
        api.MapPost("/{id:long}/join", (long id, ClaimsPrincipal u, GroupService s, CancellationToken ct) => Ok(s.JoinAsync(Caller.From(u), id, ct)))
            .WithName("JoinGroup").WithSummary("Join a public group.");
        api.MapPost("/{id:long}/leave", LeaveAsync).WithName("LeaveGroup").WithSummary("Leave a group (the last owner must hand over first).");
        api.MapPut("/{id:long}/members/{userId:guid}/role", (long id, Guid userId, SetRoleRequest r, ClaimsPrincipal u, GroupService s, CancellationToken ct) =>
                Ok(s.SetRoleAsync(Caller.From(u), id, userId, r.Role ?? throw PlatformException.Invalid("Give the new role: Member, Admin or Owner.", "role"), ct)))
            .WithName("SetGroupRole").WithSummary("Promote or demote a member.");
        api.MapDelete("/{id:long}/members/{userId:guid}", (long id, Guid userId, ClaimsPrincipal u, GroupService s, CancellationToken ct) =>
                Ok(s.RemoveMemberAsync(Caller.From(u), id, userId, ct)))
            .WithName("RemoveGroupMember").WithSummary("Remove a member.");
        api.MapGet("/{id:long}/activity", (long id, int? limit, ClaimsPrincipal u, GroupService s, CancellationToken ct) =>
                Ok(s.ActivityAsync(Caller.From(u), id, limit ?? 100, ct)))
            .WithName("GroupActivity").WithSummary("The group's activity log, newest first (owners and group admins).");
        api.MapGet("/{id:long}/resources", SharedAsync).WithName("GroupResources").WithSummary("What is shared with the group.");
        return app;
    }

    private static async Task<Ok<T>> Ok<T>(Task<T> work) => TypedResults.Ok(await work);

    private static async Task<Ok<IReadOnlyList<GroupResponse>>> ListAsync(string? scope, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        var caller = Caller.From(user);
        return TypedResults.Ok(scope?.ToLowerInvariant() switch
        {
            null or "" or "mine" => await groups.ListMineAsync(caller, ct),
            "invitations" => await groups.ListInvitationsAsync(caller, ct),
            "public" => await groups.ListPublicAsync(caller, ct),
            "all" => await groups.ListAllAsync(caller, ct),
            _ => throw PlatformException.Invalid("scope is one of mine, invitations, public, all.", "scope"),
        });
    }

    private static async Task<Created<GroupResponse>> CreateAsync(CreateGroupRequest request, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        var group = await groups.CreateAsync(Caller.From(user), request.Name, request.Description, request.Accessibility ?? GroupAccessibility.Private, ct);
        return TypedResults.Created($"/api/groups/{group.Id}", group);
    }

    private static async Task<NoContent> DeleteAsync(long id, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        await groups.DeleteAsync(Caller.From(user), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> DeclineAsync(long id, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        await groups.DeclineAsync(Caller.From(user), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> LeaveAsync(long id, ClaimsPrincipal user, GroupService groups, CancellationToken ct)
    {
        await groups.LeaveAsync(Caller.From(user), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<List<SharedResourceResponse>>> SharedAsync(long id, ClaimsPrincipal user, GroupService groups, CancellationToken ct) =>
        TypedResults.Ok((await groups.SharedResourcesAsync(Caller.From(user), id, ct))
            .Select(r => new SharedResourceResponse(r.Resource.Id, r.Resource.Type, r.Resource.Name, r.OwnerName, ResourceTypes.Names(r.Actions))).ToList());
}
