using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Authorization;

public sealed record ResourceResponse(Guid Id, string Type, string Name, string? Owner, IReadOnlyList<string> MyActions);

public sealed record PrivilegeResponse(string Type, string Name, IReadOnlyList<string> Actions);

/// <summary><c>type</c> is "user" or "group"; <c>actions</c> replaces what the principal holds (empty revokes).</summary>
public sealed record SetPrivilegeRequest(string? Type, string? Name, IReadOnlyList<string>? Actions);

/// <summary>
/// Sharing, the same for every kind of resource (<c>/api/resources</c>): what others shared with me,
/// who holds what, grant and revoke. Features add their own routes for their own objects.
/// </summary>
public static class ResourceEndpoints
{
    public static IEndpointRouteBuilder MapResourceEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/resources").WithTags("Sharing").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("/shared-with-me", SharedWithMeAsync).WithName("SharedWithMe")
            .WithSummary("Resources of a type that others shared with you, directly or through a group.");
        api.MapGet("/{id:guid}", GetAsync).WithName("GetResource").WithSummary("A resource and the actions you hold on it.");
        api.MapGet("/{id:guid}/privileges", PrivilegesAsync).WithName("ListPrivileges").WithSummary("Who holds which actions on a resource.");
        api.MapPut("/{id:guid}/privileges", SetAsync).WithName("SetPrivilege")
            .WithSummary("Share a resource with a user or group (the actions listed replace theirs; none revokes).");
        return app;
    }

    private static async Task<Ok<List<ResourceResponse>>> SharedWithMeAsync(string? type, ClaimsPrincipal user, AccessService access, CancellationToken ct)
    {
        if (type is null || !ResourceTypes.All.TryGetValue(type, out var resourceType))
        {
            throw PlatformException.Invalid($"type is one of {string.Join(", ", ResourceTypes.All.Keys)}.", "type");
        }

        var shared = await access.SharedWithAsync(Caller.From(user), resourceType, ct);
        return TypedResults.Ok(shared.Select(s => new ResourceResponse(s.Resource.Id, s.Resource.Type, s.Resource.Name, s.OwnerName, ResourceTypes.Names(s.Actions))).ToList());
    }

    private static async Task<Ok<ResourceResponse>> GetAsync(Guid id, ClaimsPrincipal user, AccessService access, AccountService accounts, CancellationToken ct)
    {
        var (resource, actions) = await VisibleAsync(id, Caller.From(user), access, ct);
        var owner = resource.OwnerId is { } o ? (await accounts.NamesAsync([o], ct)).GetValueOrDefault(o) : null;
        return TypedResults.Ok(new ResourceResponse(resource.Id, resource.Type, resource.Name, owner, ResourceTypes.Names(actions)));
    }

    private static async Task<Ok<List<PrivilegeResponse>>> PrivilegesAsync(Guid id, ClaimsPrincipal user, AccessService access, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var (resource, _) = await VisibleAsync(id, caller, access, ct);
        var privileges = await access.PrivilegesAsync(caller, resource, ct);
        return TypedResults.Ok(privileges.Select(ToResponse).ToList());
    }

    private static async Task<Ok<PrivilegeResponse>> SetAsync(Guid id, SetPrivilegeRequest request, ClaimsPrincipal user, AccessService access, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var (resource, _) = await VisibleAsync(id, caller, access, ct);
        var kind = request.Type?.ToLowerInvariant() switch
        {
            "user" => PrincipalKind.User,
            "group" => PrincipalKind.Group,
            _ => throw PlatformException.Invalid("type is \"user\" or \"group\".", "type"),
        };
        var actions = ResourceTypes.Parse(ResourceTypes.Get(resource.Type), request.Actions);
        var result = await access.SetPrivilegeAsync(caller, resource, kind, request.Name ?? "", actions, ct);
        return TypedResults.Ok(ToResponse(result));
    }

    private static async Task<(ResourceInfo Resource, ResourceActions Actions)> VisibleAsync(Guid id, Caller caller, AccessService access, CancellationToken ct)
    {
        var resource = await access.FindAsync(id, ct);
        var actions = resource is null ? ResourceActions.None : await access.ActionsAsync(caller, resource, ct);
        return actions == ResourceActions.None ? throw PlatformException.NotFound("No such resource.") : (resource!, actions);
    }

    private static PrivilegeResponse ToResponse(PrivilegeInfo p) =>
        new(p.Kind.ToString().ToLowerInvariant(), p.Name, ResourceTypes.Names(p.Actions));
}
