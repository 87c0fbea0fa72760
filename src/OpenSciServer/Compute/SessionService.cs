using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Compat;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute;

public sealed record UserVolumeChoice(string? RootVolume, string? Owner, string? Name, bool Writable);

public sealed record CreateSessionCommand(string? Name, string? Domain, string? Image, IReadOnlyList<string>? DataVolumes, IReadOnlyList<UserVolumeChoice>? UserVolumes);

/// <summary>
/// Sessions as their owners manage them: create, list, stop, start again, extend, delete. The database
/// row is the truth; <see cref="ComputeWorker"/> does the slow part (starting) and watches running
/// sessions. Someone else's session answers 404, like one that does not exist.
/// </summary>
public sealed partial class SessionService(
    PlatformDbContext db,
    ComputeCatalog catalog,
    VolumeService volumes,
    AccountService accounts,
    TokenService tokens,
    UnixAccounts unix,
    ComputeBackendRegistry backends,
    ComputeSignal signal,
    JupyterProbe probe,
    IOptions<ComputeOptions> options,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<SessionService> logger)
{
    public const int MaxNameLength = 64;

    private DbSet<ComputeSession> Sessions => db.Set<ComputeSession>();

    /// <summary>The proxy path of a session; also Jupyter's base_url.</summary>
    public static string BaseUrl(Guid id) => $"/compute/sessions/{id}/";

    public async Task<ComputeSession> CreateAsync(Caller caller, CreateSessionCommand command, string requestBaseUrl, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(command);
        var name = CheckName(command.Name);
        var domain = await catalog.DemandDomainAsync(caller, command.Domain, ct);
        var image = await catalog.DemandImageAsync(caller, command.Image, ct);
        var chosen = await VolumeMounts.CheckAsync(volumes, caller, command.DataVolumes, command.UserVolumes, ct);
        if (await Sessions.AnyAsync(s => s.OwnerId == caller.UserId && s.Name == name, ct))
        {
            throw PlatformException.Conflict($"You have a session named '{name}' already.", "name");
        }

        await CheckLimitAsync(caller.UserId, domain, excluding: null, ct);
        var session = new ComputeSession
        {
            Id = Guid.CreateVersion7(),
            OwnerId = caller.UserId,
            OwnerName = caller.UserName,
            Name = name,
            DomainId = domain.Id,
            ImageId = image.Id,
            Status = SessionStatus.Starting,
            Generation = 1,
            CreatedAt = time.GetUtcNow(),
            PlatformUrl = PlatformUrl(requestBaseUrl),
            Volumes = chosen,
        };
        Sessions.Add(session);
        await db.SaveChangesAsync(ct);
        LogCreated(logger, session.Id, caller.UserName, domain.Name, image.Name);
        signal.Wake();
        return await GetAsync(caller, session.Id, ct);
    }

    public async Task<IReadOnlyList<ComputeSession>> ListAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return await Sessions.AsNoTracking().Include(s => s.Domain).Include(s => s.Image).Include(s => s.Volumes)
            .Where(s => s.OwnerId == caller.UserId).OrderByDescending(s => s.CreatedAt).ToListAsync(ct);
    }

    public async Task<ComputeSession> GetAsync(Caller caller, Guid id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return await Sessions.AsNoTracking().Include(s => s.Domain).Include(s => s.Image).Include(s => s.Volumes)
            .FirstOrDefaultAsync(s => s.Id == id && s.OwnerId == caller.UserId, ct)
            ?? throw PlatformException.NotFound("There is no such session of yours.");
    }

    /// <summary>The proxy's view: the upstream of a running session of this user, or null (not theirs, not there).</summary>
    public async Task<ComputeSession?> FindForProxyAsync(Guid userId, Guid id, CancellationToken ct) =>
        await Sessions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id && s.OwnerId == userId, ct);

    /// <summary>Notes use through the proxy (at most every 30 seconds: a write per request would be wasteful).</summary>
    public async Task TouchAsync(ComputeSession session, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        var now = time.GetUtcNow();
        if (session.LastActivityAt is { } last && now - last < TimeSpan.FromSeconds(30))
        {
            return;
        }

        await Sessions.Where(s => s.Id == session.Id).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastActivityAt, now), ct);
    }

    public async Task<ComputeSession> StopAsync(Caller caller, Guid id, CancellationToken ct)
    {
        var session = await GetAsync(caller, id, ct);
        if (session.Status is SessionStatus.Stopped or SessionStatus.Failed)
        {
            return session;
        }

        await EndAsync(id, SessionStatus.Stopped, "Stopped by you.", ct);
        return await GetAsync(caller, id, ct);
    }

    public async Task<ComputeSession> StartAsync(Caller caller, Guid id, string requestBaseUrl, CancellationToken ct)
    {
        var session = await GetAsync(caller, id, ct);
        if (session.Status is SessionStatus.Starting or SessionStatus.Running)
        {
            return session;
        }

        var domain = await catalog.DemandDomainAsync(caller, session.Domain!.Name, ct);
        await catalog.DemandImageAsync(caller, session.Image!.Name, ct);
        await CheckLimitAsync(caller.UserId, domain, excluding: id, ct);
        var changed = await Sessions.Where(s => s.Id == id && s.Generation == session.Generation && (s.Status == SessionStatus.Stopped || s.Status == SessionStatus.Failed))
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.Status, SessionStatus.Starting).SetProperty(s => s.Generation, session.Generation + 1)
                .SetProperty(s => s.StatusReason, (string?)null).SetProperty(s => s.StoppedAt, (DateTimeOffset?)null)
                .SetProperty(s => s.PlatformUrl, PlatformUrl(requestBaseUrl)), ct);
        if (changed == 1)
        {
            signal.Wake();
        }

        return await GetAsync(caller, id, ct);
    }

    public async Task<ComputeSession> ExtendAsync(Caller caller, Guid id, CancellationToken ct)
    {
        var session = await GetAsync(caller, id, ct);
        if (session.Status != SessionStatus.Running || session.StartedAt is not { } started)
        {
            throw PlatformException.Conflict($"Only a running session can be extended; this one is {session.Status}.");
        }

        var domain = session.Domain!;
        var now = time.GetUtcNow();
        var cap = started + domain.MaxLifetime;
        var expires = Min(now + domain.Lifetime, cap);
        if (expires <= (session.ExpiresAt ?? now))
        {
            throw PlatformException.Conflict(
                $"This session cannot run longer: sessions in '{domain.Name}' run at most {Describe(domain.MaxLifetime)} after their start, until {cap:yyyy-MM-dd HH:mm} UTC.");
        }

        await Sessions.Where(s => s.Id == id).ExecuteUpdateAsync(u => u.SetProperty(s => s.ExpiresAt, expires), ct);
        if (session.PlatformTokenId is { } tokenId)
        {
            await tokens.SetExpiryAsync(tokenId, expires + TokenMargin, ct);
        }

        return await GetAsync(caller, id, ct);
    }

    public async Task DeleteAsync(Caller caller, Guid id, CancellationToken ct)
    {
        var session = await GetAsync(caller, id, ct);
        if (session.Status is SessionStatus.Starting or SessionStatus.Running)
        {
            await EndAsync(id, SessionStatus.Stopped, "Deleted.", ct);
        }

        await Sessions.Where(s => s.Id == id).ExecuteDeleteAsync(ct);
        foreach (var folder in new[] { HomeFolder(id), Path.Combine(platform.Value.DataPath, "compute", "local", id.ToString("N")) })
        {
            // A launch of this session may still be writing its home (it gives up once it sees the row
            // gone): try again briefly rather than fail the delete with "not empty".
            for (var attempt = 1; Directory.Exists(folder); attempt++)
            {
                try
                {
                    using var parent = NoFollow.OpenDirectory(Path.GetDirectoryName(folder)!, []);
                    NoFollow.DeleteTree(parent, Path.GetFileName(folder));
                }
                catch (PlatformException) when (attempt < 20)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
                }
            }
        }

        // Whichever backend ran it (a domain may have changed backend since), its private files go too.
        foreach (var backend in backends.All)
        {
            await backend.ForgetAsync(id, ct);
        }

        LogDeleted(logger, id, caller.UserName);
    }

    /// <summary>
    /// Ends a session: marks it first (so the proxy stops forwarding at once), then stops its processes
    /// and revokes its platform token.
    /// </summary>
    public async Task EndAsync(Guid id, SessionStatus status, string reason, CancellationToken ct)
    {
        var session = await Sessions.AsNoTracking().Include(s => s.Domain).FirstOrDefaultAsync(s => s.Id == id, ct);
        if (session is null)
        {
            return;
        }

        await Sessions.Where(s => s.Id == id && s.Generation == session.Generation)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.Status, status).SetProperty(s => s.StatusReason, reason)
                .SetProperty(s => s.StoppedAt, time.GetUtcNow()).SetProperty(s => s.UpstreamHost, (string?)null)
                .SetProperty(s => s.UpstreamPort, (int?)null).SetProperty(s => s.JupyterToken, (string?)null), ct);
        if (session.BackendId is { } backendId && backends.Find(session.Domain!.Backend) is { } backend)
        {
            await backend.StopAsync(id, backendId, ct);
        }

        if (session.PlatformTokenId is { } tokenId)
        {
            await tokens.RevokeByIdAsync(tokenId, ct);
        }

        LogEnded(logger, id, status, reason);
    }

    /// <summary>
    /// Starts one generation of a session (called by the worker): rechecks every right, prepares the
    /// uid, the home folder with the token and SciScript's configuration, hands it to the backend and
    /// waits until Jupyter answers. Any refusal ends as Failed with the reason.
    /// </summary>
    public async Task LaunchAsync(Guid id, int generation, CancellationToken ct)
    {
        var session = await Sessions.Include(s => s.Domain).Include(s => s.Image).Include(s => s.Volumes)
            .FirstOrDefaultAsync(s => s.Id == id && s.Generation == generation && s.Status == SessionStatus.Starting, ct);
        if (session is null)
        {
            return;
        }

        var backend = backends.Find(session.Domain!.Backend);
        try
        {
            if (backend is null)
            {
                throw PlatformException.Invalid($"The domain's backend '{session.Domain.Backend}' is not available on this platform.");
            }

            if (backend.Unavailable is { } why)
            {
                throw PlatformException.Invalid(why);
            }

            var user = await accounts.FindAsync(session.OwnerId, ct);
            var owner = new Caller(user.Id, user.UserName, user.IsAdmin);
            var account = await unix.ForAsync(user.Id, user.UserName, ct);
            var mounts = await VolumeMounts.MountsAsync(volumes, owner, session.Volumes, account, ct);
            var home = PrepareHome(id, account);

            // A fresh platform token for this start, valid while the session may live (extended with it).
            if (session.PlatformTokenId is { } old)
            {
                await tokens.RevokeByIdAsync(old, ct);
            }

            var now = time.GetUtcNow();
            var token = await tokens.IssueServiceTokenAsync(user.Id, $"compute session {session.Name}", now + session.Domain.Lifetime + TokenMargin, ct);
            WriteUserFile(home, [], "keystone.token", token.Secret, account);
            var sciscript = JsonSerializer.Serialize(SciScriptConfig.For(session.PlatformUrl ?? PlatformUrl("http://127.0.0.1")), IndentedJson);
            WriteUserFile(home, [".config", "sciserver"], "sciscript.json", sciscript, account);

            session.PlatformTokenId = token.Info.Id;
            session.Uid = account.Uid;
            session.JupyterToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            session.BackendId = null;
            await db.SaveChangesAsync(ct);

            var launch = new SessionLaunch(id, generation, user.UserName, account.Uid, account.Gid, session.Image!, session.Domain, mounts, home,
                BaseUrl(id), session.JupyterToken, session.Domain.Lifetime);
            var handle = await backend.StartAsync(launch, ct);
            int running;
            var expires = now;
            try
            {
                session.BackendId = handle.BackendId;
                session.UpstreamHost = handle.Host;
                session.UpstreamPort = handle.Port;
                running = await Sessions.Where(s => s.Id == id && s.Generation == generation && s.Status == SessionStatus.Starting)
                    .ExecuteUpdateAsync(u => u.SetProperty(s => s.BackendId, handle.BackendId)
                        .SetProperty(s => s.UpstreamHost, handle.Host).SetProperty(s => s.UpstreamPort, handle.Port), ct);
                if (running == 1)
                {
                    await WaitUntilReadyAsync(session, backend, ct);
                    now = time.GetUtcNow();
                    expires = now + session.Domain.Lifetime;
                    running = await Sessions.Where(s => s.Id == id && s.Generation == generation && s.Status == SessionStatus.Starting)
                        .ExecuteUpdateAsync(u => u.SetProperty(s => s.Status, SessionStatus.Running).SetProperty(s => s.StartedAt, now)
                            .SetProperty(s => s.StatusReason, (string?)null)
                            .SetProperty(s => s.LastActivityAt, now).SetProperty(s => s.ExpiresAt, expires)
                            .SetProperty(s => s.UpstreamHost, session.UpstreamHost).SetProperty(s => s.UpstreamPort, session.UpstreamPort), ct);
                }
            }
            catch
            {
                await backend.StopAsync(id, handle.BackendId, CancellationToken.None);
                throw;
            }

            if (running == 0)
            {
                // Stopped or deleted while it started: nothing of this start may stay.
                await backend.StopAsync(id, handle.BackendId, CancellationToken.None);
                await tokens.RevokeByIdAsync(token.Info.Id, CancellationToken.None);
                return;
            }

            await tokens.SetExpiryAsync(token.Info.Id, expires + TokenMargin, ct);
            LogRunning(logger, id, session.OwnerName);
        }
        catch (Exception e) when (e is PlatformException or IOException or InvalidOperationException or UnauthorizedAccessException or HttpRequestException or TimeoutException)
        {
            var reason = e is PlatformException ? e.Message : $"It could not be started: {e.Message}";
            LogLaunchFailed(logger, id, e);
            db.ChangeTracker.Clear();
            var current = await Sessions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
            if (current is { Status: SessionStatus.Starting } && current.Generation == generation)
            {
                await EndAsync(id, SessionStatus.Failed, reason, ct);
            }
        }
    }

    /// <summary>The session's home folder on the machine: kept across stops and starts, removed with the session.</summary>
    public string HomeFolder(Guid id) => Path.Combine(platform.Value.DataPath, "compute", "homes", id.ToString("N"));

    internal static readonly TimeSpan TokenMargin = TimeSpan.FromMinutes(10);

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    private async Task WaitUntilReadyAsync(ComputeSession session, IComputeBackend backend, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + options.Value.StartTimeout;
        while (true)
        {
            var state = await backend.GetStateAsync(session.Id, session.BackendId!, ct);
            switch (state.Status)
            {
                case BackendStatus.Gone:
                    throw PlatformException.Invalid("Its Jupyter server ended during the start. " + (state.Reason ?? ""));
                case BackendStatus.Running:
                    session.UpstreamHost = state.Host ?? session.UpstreamHost;
                    session.UpstreamPort = state.Port ?? session.UpstreamPort;
                    if (session.UpstreamHost is not null && session.UpstreamPort is not null && await probe.StatusAsync(session, ct) is not null)
                    {
                        return;
                    }

                    break;
                case BackendStatus.Pending:
                    if (state.Reason is not null)
                    {
                        await Sessions.Where(s => s.Id == session.Id && s.Generation == session.Generation && s.Status == SessionStatus.Starting)
                            .ExecuteUpdateAsync(u => u.SetProperty(s => s.StatusReason, state.Reason), ct);
                    }

                    // A queued job waits for the scheduler, not for our start timeout.
                    deadline = time.GetUtcNow() + options.Value.StartTimeout;
                    break;
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"Jupyter did not answer within {options.Value.StartTimeout.TotalSeconds:0} s.");
            }

            if (!await Sessions.AnyAsync(s => s.Id == session.Id && s.Generation == session.Generation && s.Status == SessionStatus.Starting, ct))
            {
                return; // stopped meanwhile; the caller sees it and cleans up
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
        }
    }

    private string PrepareHome(Guid id, UnixAccount account)
    {
        var homes = Path.Combine(platform.Value.DataPath, "compute", "homes");
        Directory.CreateDirectory(homes);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(homes, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        using (var home = NoFollow.OpenDirectory(homes, [id.ToString("N")], create: true, mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute))
        {
            Chown(home, account);
        }

        return HomeFolder(id);
    }

    /// <summary>
    /// Writes a file into the user's home. The home is the user's to change, so nothing in it is
    /// trusted: folders are opened without following links, the file is created new (O_EXCL) and
    /// renamed over the old one, so a link the user put there is replaced, never written through.
    /// </summary>
    internal static void WriteUserFile(string home, IReadOnlyList<string> folders, string name, string content, UnixAccount account)
    {
        for (var i = 1; i <= folders.Count; i++)
        {
            using var created = NoFollow.OpenDirectory(home, folders.Take(i).ToList(), create: true);
            Chown(created, account);
        }

        using var dir = NoFollow.OpenDirectory(home, folders);
        var temp = ".oss-" + Guid.NewGuid().ToString("N");
        using (var stream = NoFollow.CreateNew(dir, temp, UnixFileMode.UserRead | UnixFileMode.UserWrite))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
            Chown(stream.SafeFileHandle, account);
        }

        NoFollow.Rename(dir, temp, dir, name, replace: true);
    }

    private static void Chown(Microsoft.Win32.SafeHandles.SafeFileHandle handle, UnixAccount account)
    {
        if (Backends.Native.FChown((int)handle.DangerousGetHandle(), account.Uid, account.Gid) != 0)
        {
            throw new IOException($"fchown failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        }
    }

    private async Task CheckLimitAsync(Guid userId, ComputeDomain domain, Guid? excluding, CancellationToken ct)
    {
        var active = await Sessions.CountAsync(s => s.OwnerId == userId && s.DomainId == domain.Id && s.Id != excluding
            && (s.Status == SessionStatus.Starting || s.Status == SessionStatus.Running), ct);
        if (active >= domain.MaxSessionsPerUser)
        {
            throw new PlatformException(ProblemKind.TooManyRequests,
                $"You may have at most {domain.MaxSessionsPerUser} session(s) running in '{domain.Name}' at once; stop one first.");
        }
    }

    private string PlatformUrl(string requestBaseUrl)
    {
        var configured = options.Value.PlatformUrl;
        if (string.IsNullOrWhiteSpace(configured))
        {
            configured = platform.Value.PublicBaseUrl;
        }

        return (string.IsNullOrWhiteSpace(configured) ? requestBaseUrl : configured).TrimEnd('/');
    }

    private static string CheckName(string? name)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0 || trimmed.Length > MaxNameLength
            || !trimmed.All(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '_' or '-' or '.'))
        {
            throw PlatformException.Invalid($"A session name is 1 to {MaxNameLength} letters, digits, spaces and _ - .", "name");
        }

        return trimmed;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    internal static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalHours % 24 == 0 ? $"{span.TotalDays.ToString("0", CultureInfo.InvariantCulture)} day(s)"
        : span.TotalHours >= 1 ? $"{span.TotalHours.ToString("0.#", CultureInfo.InvariantCulture)} hour(s)"
        : $"{span.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)} minute(s)";

    [LoggerMessage(1510, LogLevel.Information, "Session {SessionId} created by {UserName} in {Domain} with {Image}")]
    private static partial void LogCreated(ILogger logger, Guid sessionId, string userName, string domain, string image);

    [LoggerMessage(1511, LogLevel.Information, "Session {SessionId} of {UserName} is running")]
    private static partial void LogRunning(ILogger logger, Guid sessionId, string userName);

    [LoggerMessage(1512, LogLevel.Information, "Session {SessionId} ended as {Status}: {Reason}")]
    private static partial void LogEnded(ILogger logger, Guid sessionId, SessionStatus status, string reason);

    [LoggerMessage(1513, LogLevel.Warning, "Session {SessionId} failed to start")]
    private static partial void LogLaunchFailed(ILogger logger, Guid sessionId, Exception exception);

    [LoggerMessage(1514, LogLevel.Information, "Session {SessionId} deleted by {UserName}")]
    private static partial void LogDeleted(ILogger logger, Guid sessionId, string userName);
}
