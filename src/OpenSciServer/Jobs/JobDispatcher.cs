using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Compute;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

/// <summary>Wakes the <see cref="JobDispatcher"/> (a job was submitted or canceled); the database says what to do.</summary>
public sealed class JobSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _channel.Writer.TryWrite(true);

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _channel.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The interval passed.
        }
    }
}

/// <summary>
/// Runs the job queue. The database is the truth: PENDING jobs wait, are started fairly (round robin
/// between users, the least served first, each user's oldest job first) within the per-user and global
/// limits; STARTED jobs are watched until their exit code appears, their processes vanish or their time
/// limit passes. At platform start (before the server answers) it reconciles: a start that a crash
/// interrupted is found through its marker and adopted, or queued again if it never began; leftovers of
/// finished jobs are ended.
/// </summary>
internal sealed partial class JobDispatcher(
    IServiceScopeFactory scopes,
    JobSignal signal,
    JobBackendRegistry backends,
    IOptions<JobOptions> options,
    TimeProvider time,
    ILogger<JobDispatcher> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<long, Task> _launching = new();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await ReconcileAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Jobs keep running across a restart; a start in flight stays ACCEPTED and is reconciled next time.
        await Task.WhenAll(_launching.Values).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WatchAsync(stoppingToken);
                await DispatchAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogLoopFailed(logger, e);
            }

            try
            {
                await signal.WaitAsync(options.Value.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Starts PENDING jobs while the limits allow: each round gives one job to each user who may run one more, the least
    /// served first. The jobs that still wait are told which limit holds them (<see cref="ComputeJob.QueueReason"/>).
    /// </summary>
    private async Task DispatchAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var jobs = db.Set<ComputeJob>();
        var active = await jobs.AsNoTracking().Where(j => j.Status == JobStatus.Queued || j.Status == JobStatus.Accepted || j.Status == JobStatus.Started)
            .GroupBy(j => j.OwnerId).Select(g => new { Owner = g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Owner, g => g.Count, ct);
        var running = active.Values.Sum();
        var o = options.Value;
        var pending = await jobs.AsNoTracking().Where(j => j.Status == JobStatus.Pending).OrderBy(j => j.SubmittedAt).ThenBy(j => j.Id)
            .Select(j => new { j.Id, j.OwnerId, j.Attempt, j.QueueReason }).Take(10_000).ToListAsync(ct);
        if (pending.Count == 0)
        {
            return;
        }

        var queues = pending.GroupBy(j => j.OwnerId).ToDictionary(g => g.Key, g => new Queue<(long Id, int Attempt)>(g.Select(j => (j.Id, j.Attempt))));
        var launched = new HashSet<long>();
        while (running < o.MaxRunning)
        {
            var next = queues.Where(q => q.Value.Count > 0 && active.GetValueOrDefault(q.Key) < o.MaxRunningPerUser)
                .OrderBy(q => active.GetValueOrDefault(q.Key)).ThenBy(q => q.Value.Peek().Id).Select(q => q.Key).Cast<Guid?>().FirstOrDefault();
            if (next is not { } owner)
            {
                break;
            }

            var (id, attempt) = queues[owner].Dequeue();
            // The attempt is written before the start: after a crash, it names the start to look for.
            var claimed = await jobs.Where(j => j.Id == id && j.Status == JobStatus.Pending && j.Attempt == attempt)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Accepted).SetProperty(j => j.Attempt, attempt + 1)
                    .SetProperty(j => j.QueueReason, (string?)null), ct);
            launched.Add(id);
            if (claimed == 0)
            {
                continue; // canceled meanwhile
            }

            active[owner] = active.GetValueOrDefault(owner) + 1;
            running++;
            Launch(id, attempt + 1, ct);
        }

        // Those still waiting: say which limit holds each (written only when it changed).
        var reasons = pending.Where(j => !launched.Contains(j.Id))
            .Select(j => (j.Id, j.QueueReason, Reason: WaitReason(active.GetValueOrDefault(j.OwnerId), running, o)))
            .Where(j => j.Reason is not null && j.Reason != j.QueueReason)
            .GroupBy(j => j.Reason!, j => j.Id);
        foreach (var group in reasons)
        {
            var ids = group.ToList();
            var reason = group.Key;
            await jobs.Where(j => ids.Contains(j.Id) && j.Status == JobStatus.Pending).ExecuteUpdateAsync(u => u.SetProperty(j => j.QueueReason, reason), ct);
        }
    }

    /// <summary>Why a PENDING job of a user with <paramref name="mine"/> jobs queued or running waits, with <paramref name="all"/> of all users; null if no limit holds it.</summary>
    internal static string? WaitReason(int mine, int all, JobOptions o)
    {
        if (mine >= o.MaxRunningPerUser)
        {
            return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Waiting for one of your jobs to end: you have {mine} job(s) running or queued, and one user may have {o.MaxRunningPerUser} at once.");
        }

        if (all >= o.MaxRunning)
        {
            return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Waiting for a free slot: {all} job(s) of all users are running or queued, the most this platform runs at once ({o.MaxRunning}); waiting jobs start in turn, fairly between users.");
        }

        return null;
    }

    private void Launch(long id, int attempt, CancellationToken ct)
    {
        _launching[id] = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<JobService>().LaunchAsync(id, attempt, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogLaunchCrashed(logger, id, e);
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<JobService>().FinishAsync(id, JobStatus.Error, null, JobMessageLabels.Error,
                    "It could not be started because of an error in the platform (logged for the administrators).", CancellationToken.None);
            }
            finally
            {
                _launching.TryRemove(id, out _);
                signal.Wake();
            }
        }, ct);
    }

    /// <summary>One look at every started job: finished (exit code), gone, or past its time limit.</summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var service = scope.ServiceProvider.GetRequiredService<JobService>();
        var started = await db.Set<ComputeJob>().AsNoTracking().Include(j => j.Domain)
            .Where(j => (j.Status == JobStatus.Started || j.Status == JobStatus.Queued) && j.BackendId != null).ToListAsync(ct);
        foreach (var job in started.Where(j => !_launching.ContainsKey(j.Id)))
        {
            var backend = backends.Find(job.Domain!.Backend);
            if (backend is null)
            {
                await service.FinishAsync(job.Id, JobStatus.Error, null, JobMessageLabels.Error, $"Its backend '{job.Domain.Backend}' is not available any more.", ct);
                continue;
            }

            var state = await backend.GetStateAsync(job.Id, job.BackendId!, service.DirectoryOf(job), ct);
            switch (state.Status)
            {
                case JobBackendStatus.Finished:
                    var code = state.ExitCode!.Value;
                    await service.FinishAsync(job.Id, code == 0 ? JobStatus.Success : JobStatus.Error, code,
                        code == 0 ? JobMessageLabels.Status : JobMessageLabels.Error,
                        (code == 0 ? "Finished (exit code 0)." : $"Ended with exit code {code}; see stderr.txt.") + (state.Reason is null ? "" : " " + state.Reason), ct);
                    continue;
                case JobBackendStatus.Gone:
                    await service.FinishAsync(job.Id, JobStatus.Error, null, JobMessageLabels.Error,
                        "It ended without an exit code (its processes were killed)." + (state.Reason is null ? "" : " " + state.Reason), ct);
                    continue;
                case JobBackendStatus.Queued:
                    // The backend's reason (Slurm's pending reason, in words) is the job's for as long as it waits there.
                    var reason = Bounded(state.Reason);
                    if (job.Status != JobStatus.Queued || job.QueueReason != reason)
                    {
                        await db.Set<ComputeJob>().Where(j => j.Id == job.Id && (j.Status == JobStatus.Started || j.Status == JobStatus.Queued))
                            .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Queued).SetProperty(j => j.QueueReason, reason), ct);
                    }

                    continue;
                case JobBackendStatus.Running:
                    if (job.Status == JobStatus.Queued)
                    {
                        var now = time.GetUtcNow();
                        await db.Set<ComputeJob>().Where(j => j.Id == job.Id && j.Status == JobStatus.Queued)
                            .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Started).SetProperty(j => j.StartedAt, now)
                                .SetProperty(j => j.QueueReason, (string?)null), ct);
                        continue;
                    }

                    if (job.QueueReason is not null)
                    {
                        await db.Set<ComputeJob>().Where(j => j.Id == job.Id && j.Status == JobStatus.Started).ExecuteUpdateAsync(u => u.SetProperty(j => j.QueueReason, (string?)null), ct);
                    }

                    if (job.StartedAt is { } at && time.GetUtcNow() >= at + job.TimeLimit)
                    {
                        await service.FinishAsync(job.Id, JobStatus.Error, null, JobMessageLabels.Timeout,
                            $"It reached its time limit of {Describe(job.TimeLimit)} and was stopped.", ct);
                    }

                    continue;
            }
        }
    }

    /// <summary>At platform start: starts interrupted by the last stop are adopted or queued again; leftovers are ended.</summary>
    private async Task ReconcileAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        var service = scope.ServiceProvider.GetRequiredService<JobService>();
        var jobs = db.Set<ComputeJob>();
        var tokens = scope.ServiceProvider.GetRequiredService<Accounts.TokenService>();
        foreach (var job in await jobs.AsNoTracking().Include(j => j.Domain).Where(j => j.Status == JobStatus.Accepted).ToListAsync(ct))
        {
            var backend = backends.Find(job.Domain!.Backend);
            var found = backend is null || backend.Unavailable is not null ? null : await backend.FindAsync(job.Id, job.Attempt, ct);
            if (found is not null)
            {
                // It began before the crash: adopt it (never start it twice); the watch sees how it is doing.
                var now = time.GetUtcNow();
                await jobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Accepted)
                    .ExecuteUpdateAsync(u => u.SetProperty(j => j.BackendId, found).SetProperty(j => j.Status, JobStatus.Started).SetProperty(j => j.StartedAt, now), ct);
                await service.AddMessageAsync(job.Id, JobMessageLabels.Status, "Its start was interrupted by a platform restart; it had begun and was adopted.", ct);
                LogAdopted(logger, job.Id);
                continue;
            }

            // It never began: back in the queue, its token (if one was issued) revoked.
            if (job.PlatformTokenId is { } tokenId)
            {
                await tokens.RevokeByIdAsync(tokenId, ct);
            }

            await jobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Accepted)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Pending).SetProperty(j => j.PlatformTokenId, (Guid?)null), ct);
            LogRequeued(logger, job.Id);
        }

        // Finished jobs whose clean-up a crash interrupted.
        foreach (var id in await jobs.AsNoTracking().Where(j => j.Status >= JobStatus.Success && j.PlatformTokenId != null).Select(j => j.Id).ToListAsync(ct))
        {
            await service.CleanUpAsync(id, ct);
        }

        var keep = await jobs.AsNoTracking().Where(j => j.BackendId != null && (j.Status == JobStatus.Started || j.Status == JobStatus.Queued))
            .Select(j => j.BackendId!).ToListAsync(ct);
        foreach (var backend in backends.All.Where(b => b.Unavailable is null))
        {
            await backend.RemoveOrphansAsync(keep, ct);
        }
    }

    private static string? Bounded(string? reason) =>
        reason is { Length: > ComputeJob.MaxQueueReasonLength } ? reason[..(ComputeJob.MaxQueueReasonLength - 1)] + "…" : reason;

    private static string Describe(TimeSpan span) => span < TimeSpan.FromMinutes(1)
        ? $"{span.TotalSeconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)} second(s)"
        : SessionService.Describe(span);

    [LoggerMessage(1620, LogLevel.Error, "The job dispatcher's loop failed")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(1621, LogLevel.Error, "Starting job {JobId} failed unexpectedly")]
    private static partial void LogLaunchCrashed(ILogger logger, long jobId, Exception exception);

    [LoggerMessage(1622, LogLevel.Information, "Job {JobId} had begun before the platform's restart: adopted")]
    private static partial void LogAdopted(ILogger logger, long jobId);

    [LoggerMessage(1623, LogLevel.Information, "Job {JobId} had not begun before the platform's restart: queued again")]
    private static partial void LogRequeued(ILogger logger, long jobId);
}
