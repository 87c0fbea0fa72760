using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Compat;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute;

public sealed record DomainResponse(
    string Name, string Description, string Backend, string? Partition, long MemoryBytes, double Cpus, int MaxProcesses,
    int MaxSessionsPerUser, TimeSpan IdleTimeout, TimeSpan Lifetime, TimeSpan MaxLifetime, string? Unavailable)
{
    public static DomainResponse From(ComputeDomain d, string? unavailable) =>
        new(d.Name, d.Description, d.Backend, d.Partition, d.MemoryBytes, d.Cpus, d.MaxProcesses, d.MaxSessionsPerUser, d.IdleTimeout, d.Lifetime, d.MaxLifetime, unavailable);
}

public sealed record ImageResponse(string Name, string Description, IReadOnlyList<string> Kernels)
{
    public static ImageResponse From(ComputeImage i) => new(i.Name, i.Description, i.KernelList);
}

public sealed record UserVolumeRequest(string? RootVolume, string? Owner, string? Name, bool? Writable);

public sealed record CreateSessionRequest(string? Name, string? Domain, string? Image, IReadOnlyList<string>? DataVolumes, IReadOnlyList<UserVolumeRequest>? UserVolumes);

public sealed record SessionUserVolume(string RootVolume, string Owner, string Name, bool Writable, string MountPath);

public sealed record SessionDataVolume(string Name, string MountPath);

/// <summary>A session as its owner sees it; never the upstream address or the Jupyter token.</summary>
public sealed record SessionResponse(
    Guid Id,
    string Name,
    string Domain,
    string Image,
    SessionStatus Status,
    string? StatusReason,
    string Url,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? LastActivityAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? MaxExpiresAt,
    DateTimeOffset? IdleStopAt,
    DateTimeOffset? StoppedAt,
    IReadOnlyList<SessionDataVolume> DataVolumes,
    IReadOnlyList<SessionUserVolume> UserVolumes)
{
    public static SessionResponse From(ComputeSession s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var running = s.Status == SessionStatus.Running;
        return new(s.Id, s.Name, s.Domain!.Name, s.Image!.Name, s.Status, s.StatusReason, SessionService.BaseUrl(s.Id), s.CreatedAt,
            s.StartedAt, s.LastActivityAt, running ? s.ExpiresAt : null,
            running && s.StartedAt is { } started ? started + s.Domain.MaxLifetime : null,
            running && s.LastActivityAt is { } last ? last + s.Domain.IdleTimeout : null,
            s.StoppedAt,
            s.Volumes.Where(v => v.Kind == SessionVolumeKind.Data).OrderBy(v => v.Name, StringComparer.Ordinal)
                .Select(v => new SessionDataVolume(v.Name, $"{Backends.LocalBackend.Workspace}/{v.Name}")).ToList(),
            s.Volumes.Where(v => v.Kind == SessionVolumeKind.User).OrderBy(v => v.RootVolume, StringComparer.Ordinal).ThenBy(v => v.Owner, StringComparer.Ordinal).ThenBy(v => v.Name, StringComparer.Ordinal)
                .Select(v => new SessionUserVolume(v.RootVolume!, v.Owner!, v.Name, v.Writable, $"{Backends.LocalBackend.Workspace}/{v.RootVolume}/{v.Owner}/{v.Name}")).ToList());
    }
}

/// <summary>The native Compute API (<c>/api/compute</c>); names as in the issue, for operators' scripts.</summary>
public static class ComputeEndpoints
{
    public static IEndpointRouteBuilder MapComputeEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/compute").WithTags("Compute").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("/domains", DomainsAsync).WithName("ListComputeDomains").WithSummary("The compute domains you may use, with their limits.");
        api.MapGet("/images", ImagesAsync).WithName("ListComputeImages").WithSummary("The images you may use and the kernels they offer.");
        api.MapPost("/sessions", CreateAsync).WithName("CreateSession")
            .WithSummary("Create and start a session: Jupyter as your own uid over the volumes you choose.")
            .WithDescription("The reply's status is Starting; poll GET /api/compute/sessions/{id} until it is Running, then open its url. User volumes are mounted at /home/idies/workspace/<rootVolume>/<owner>/<name>, data volumes read-only at /home/idies/workspace/<name>.");
        api.MapGet("/sessions", ListAsync).WithName("ListSessions").WithSummary("Your sessions, newest first.");
        api.MapGet("/sessions/{id:guid}", GetAsync).WithName("GetSession").WithSummary("One of your sessions.");
        api.MapDelete("/sessions/{id:guid}", DeleteAsync).WithName("DeleteSession").WithSummary("Stop a session if it runs, and forget it with its home folder (your volumes are untouched).");
        api.MapPost("/sessions/{id:guid}/stop", StopAsync).WithName("StopSession").WithSummary("Stop a session and every process it started.");
        api.MapPost("/sessions/{id:guid}/start", StartAsync).WithName("StartSession").WithSummary("Start a stopped or failed session again, with the same volumes.");
        api.MapPost("/sessions/{id:guid}/extend", ExtendAsync).WithName("ExtendSession")
            .WithSummary("Push a running session's end to a full lifetime from now, within the domain's maximum lifetime.");

        var admin = app.MapGroup("/api/admin/compute").WithTags("Admin").RequireAuthorization(PlatformAuth.AdminPolicy).RequireCors(PlatformCors.Api);
        admin.MapPut("/domains/{name}", PutDomainAsync).WithName("PutComputeDomain")
            .WithSummary("Create or change a compute domain. Share it (PUT /api/resources/{id}/privileges, action use) to let others use it.");
        admin.MapPut("/images/{name}", PutImageAsync).WithName("PutComputeImage").WithSummary("Create or change an image.");
        return app;
    }

    private static async Task<Ok<List<DomainResponse>>> DomainsAsync(ClaimsPrincipal user, ComputeCatalog catalog, ComputeBackendRegistry backends, CancellationToken ct) =>
        TypedResults.Ok((await catalog.DomainsAsync(Caller.From(user), ct))
            .Select(d => DomainResponse.From(d, backends.Find(d.Backend) is { } b ? b.Unavailable : $"The {d.Backend} backend is not part of this platform yet.")).ToList());

    private static async Task<Ok<List<ImageResponse>>> ImagesAsync(ClaimsPrincipal user, ComputeCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok((await catalog.ImagesAsync(Caller.From(user), ct)).Select(ImageResponse.From).ToList());

    private static async Task<Created<SessionResponse>> CreateAsync(CreateSessionRequest request, ClaimsPrincipal user, HttpContext http,
        SessionService sessions, IOptions<PlatformOptions> platform, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var command = new CreateSessionCommand(request.Name, request.Domain, request.Image, request.DataVolumes,
            request.UserVolumes?.Select(v => v is null ? null! : new UserVolumeChoice(v.RootVolume, v.Owner, v.Name, v.Writable ?? false)).ToList());
        var session = await sessions.CreateAsync(Caller.From(user), command, SciScriptConfig.BaseUrl(http.Request, platform), ct);
        return TypedResults.Created($"/api/compute/sessions/{session.Id}", SessionResponse.From(session));
    }

    private static async Task<Ok<List<SessionResponse>>> ListAsync(ClaimsPrincipal user, SessionService sessions, CancellationToken ct) =>
        TypedResults.Ok((await sessions.ListAsync(Caller.From(user), ct)).Select(SessionResponse.From).ToList());

    private static async Task<Ok<SessionResponse>> GetAsync(Guid id, ClaimsPrincipal user, SessionService sessions, CancellationToken ct) =>
        TypedResults.Ok(SessionResponse.From(await sessions.GetAsync(Caller.From(user), id, ct)));

    private static async Task<NoContent> DeleteAsync(Guid id, ClaimsPrincipal user, SessionService sessions, CancellationToken ct)
    {
        await sessions.DeleteAsync(Caller.From(user), id, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<SessionResponse>> StopAsync(Guid id, ClaimsPrincipal user, SessionService sessions, CancellationToken ct) =>
        TypedResults.Ok(SessionResponse.From(await sessions.StopAsync(Caller.From(user), id, ct)));

    private static async Task<Ok<SessionResponse>> StartAsync(Guid id, ClaimsPrincipal user, HttpContext http, SessionService sessions, IOptions<PlatformOptions> platform, CancellationToken ct) =>
        TypedResults.Ok(SessionResponse.From(await sessions.StartAsync(Caller.From(user), id, SciScriptConfig.BaseUrl(http.Request, platform), ct)));

    private static async Task<Ok<SessionResponse>> ExtendAsync(Guid id, ClaimsPrincipal user, SessionService sessions, CancellationToken ct) =>
        TypedResults.Ok(SessionResponse.From(await sessions.ExtendAsync(Caller.From(user), id, ct)));

    private static async Task<Ok<DomainResponse>> PutDomainAsync(string name, DomainSpec spec, ClaimsPrincipal user, ComputeCatalog catalog, ComputeBackendRegistry backends, CancellationToken ct)
    {
        var domain = await catalog.PutDomainAsync(Caller.From(user), name, spec, ct);
        return TypedResults.Ok(DomainResponse.From(domain, backends.Find(domain.Backend)?.Unavailable));
    }

    private static async Task<Ok<ImageResponse>> PutImageAsync(string name, ImageSpec spec, ClaimsPrincipal user, ComputeCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok(ImageResponse.From(await catalog.PutImageAsync(Caller.From(user), name, spec, ct)));
}
