using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute;

/// <summary>
/// Starts sessions that are Starting, and watches Running ones: processes gone → Stopped, idle past the
/// domain's timeout or past their lifetime → stopped with the reason. At platform start (before the
/// server answers) it seeds the catalog and reconciles: a running session whose Jupyter still answers
/// is adopted, one whose processes are gone is marked Stopped; Starting ones are started again.
/// </summary>
internal sealed partial class ComputeWorker(
    IServiceScopeFactory scopes,
    ComputeSignal signal,
    ComputeBackendRegistry backends,
    JupyterProbe probe,
    IOptions<ComputeOptions> options,
    TimeProvider time,
    ILogger<ComputeWorker> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Task> _launching = new();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ComputeCatalog>().SeedAsync(cancellationToken);
        }

        await CheckRunningAsync(reconcile: true, cancellationToken);
        await RemoveOrphansAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Sessions keep running across a platform restart; only the launches in flight are abandoned
        // (they are Starting in the database and start again next time).
        await Task.WhenAll(_launching.Values).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextCheck = time.GetUtcNow() + options.Value.CheckInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LaunchPendingAsync(stoppingToken);
                if (time.GetUtcNow() >= nextCheck)
                {
                    await CheckRunningAsync(reconcile: false, stoppingToken);
                    nextCheck = time.GetUtcNow() + options.Value.CheckInterval;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogLoopFailed(logger, e);
            }

            try
            {
                await signal.WaitAsync(TimeSpan.FromSeconds(Math.Min(options.Value.CheckInterval.TotalSeconds, 5)), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task LaunchPendingAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var starting = await db.Set<ComputeSession>().AsNoTracking().Where(s => s.Status == SessionStatus.Starting)
            .Select(s => new { s.Id, s.Generation }).ToListAsync(ct);
        foreach (var s in starting)
        {
            if (_launching.ContainsKey(s.Id))
            {
                continue;
            }

            _launching[s.Id] = Task.Run(async () =>
            {
                try
                {
                    await using var launchScope = scopes.CreateAsyncScope();
                    await launchScope.ServiceProvider.GetRequiredService<SessionService>().LaunchAsync(s.Id, s.Generation, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not retried in a loop: the session fails with a reason and the user may start it again.
                    LogLaunchCrashed(logger, s.Id, e);
                    await using var failScope = scopes.CreateAsyncScope();
                    await failScope.ServiceProvider.GetRequiredService<SessionService>()
                        .EndAsync(s.Id, SessionStatus.Failed, "It could not be started because of an error in the platform (logged for the administrators).", CancellationToken.None);
                }
                finally
                {
                    _launching.TryRemove(s.Id, out _);
                    signal.Wake();
                }
            }, ct);
        }
    }

    /// <summary>One look at every running session: gone, idle, or past its lifetime.</summary>
    private async Task CheckRunningAsync(bool reconcile, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var sessions = scope.ServiceProvider.GetRequiredService<SessionService>();
        var running = await db.Set<ComputeSession>().AsNoTracking().Include(s => s.Domain)
            .Where(s => s.Status == SessionStatus.Running).ToListAsync(ct);
        foreach (var session in running)
        {
            var backend = backends.Find(session.Domain!.Backend);
            var state = backend is null || session.BackendId is null
                ? new BackendState(BackendStatus.Gone, Reason: "its backend is not available")
                : await backend.GetStateAsync(session.Id, session.BackendId, ct);
            var status = state.Status == BackendStatus.Running ? await probe.StatusAsync(session, ct) : null;
            if (state.Status == BackendStatus.Gone || (reconcile && status is null))
            {
                var reason = reconcile
                    ? "It ended while the platform was restarting."
                    : "Its Jupyter server ended." + (state.Reason is null ? "" : " " + state.Reason);
                await sessions.EndAsync(session.Id, SessionStatus.Stopped, reason, ct);
                continue;
            }

            if (reconcile)
            {
                LogAdopted(logger, session.Id);
            }

            var now = time.GetUtcNow();
            if (session.ExpiresAt is { } expires && now >= expires)
            {
                await sessions.EndAsync(session.Id, SessionStatus.Stopped,
                    $"It reached the end of its lifetime ({SessionService.Describe(session.Domain.Lifetime)} per start or extension).", ct);
                continue;
            }

            var last = Max(session.LastActivityAt, status?.LastActivity);
            if (last is { } l && now - l >= session.Domain.IdleTimeout)
            {
                await sessions.EndAsync(session.Id, SessionStatus.Stopped,
                    $"It was idle for {SessionService.Describe(session.Domain.IdleTimeout)} (nothing used it through the browser, and no kernel was busy).", ct);
                continue;
            }

            if (status?.LastActivity is { } jupyterLast && (session.LastActivityAt is null || jupyterLast > session.LastActivityAt))
            {
                await db.Set<ComputeSession>().Where(s => s.Id == session.Id)
                    .ExecuteUpdateAsync(u => u.SetProperty(s => s.LastActivityAt, jupyterLast), ct);
            }
        }
    }

    private async Task RemoveOrphansAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var keep = await db.Set<ComputeSession>().AsNoTracking()
            .Where(s => s.BackendId != null && (s.Status == SessionStatus.Running || s.Status == SessionStatus.Starting))
            .Select(s => s.BackendId!).ToListAsync(ct);
        foreach (var backend in backends.All.Where(b => b.Unavailable is null))
        {
            await backend.RemoveOrphansAsync(keep, ct);
        }
    }

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a > b ? a : b;

    [LoggerMessage(1520, LogLevel.Error, "The compute worker's loop failed")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(1521, LogLevel.Error, "Starting session {SessionId} failed unexpectedly")]
    private static partial void LogLaunchCrashed(ILogger logger, Guid sessionId, Exception exception);

    [LoggerMessage(1522, LogLevel.Information, "Session {SessionId} is still running after the platform's restart: adopted")]
    private static partial void LogAdopted(ILogger logger, Guid sessionId);
}
