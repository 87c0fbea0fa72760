namespace OpenSciServer.Jobs.Schedules;

/// <summary>
/// Fires due schedules. The database is the truth (each schedule's NextDueAt); this loop sleeps on the
/// injected <see cref="TimeProvider"/> until the earliest one, at most <see cref="ScheduleOptions.PollInterval"/>,
/// and <see cref="ScheduleSignal"/> wakes it when a schedule changes.
/// </summary>
internal sealed class ScheduleWorker(
    IServiceScopeFactory scopes,
    ScheduleSignal signal,
    Microsoft.Extensions.Options.IOptions<ScheduleOptions> options,
    TimeProvider time,
    ILogger<ScheduleWorker> logger) : BackgroundService
{
    private const int Batch = 100;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            var interrupted = await scope.ServiceProvider.GetRequiredService<ScheduleService>().ReconcileAsync(cancellationToken);
            if (interrupted > 0)
            {
                Log.Interrupted(logger, interrupted);
            }
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = options.Value.PollInterval;
            try
            {
                wait = await PassAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LoopFailed(logger, e);
            }

            try
            {
                await signal.WaitAsync(wait, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Fires what is due; returns how long to sleep.</summary>
    private async Task<TimeSpan> PassAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        List<long> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            due = await scope.ServiceProvider.GetRequiredService<ScheduleService>().DueAsync(now, Batch, ct);
        }

        var failed = false;
        foreach (var id in due)
        {
            try
            {
                // A scope per schedule: one schedule's failure leaves no state behind for the next.
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<ScheduleService>().FireAsync(id, now, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.FireFailed(logger, id, e);
                failed = true;
            }
        }

        if (failed)
        {
            // It is still due: look again soon, not in a tight loop.
            return TimeSpan.FromSeconds(5);
        }

        if (due.Count == Batch)
        {
            return TimeSpan.Zero;
        }

        await using (var scope = scopes.CreateAsyncScope())
        {
            var next = await scope.ServiceProvider.GetRequiredService<ScheduleService>().NextDueAsync(ct);
            var poll = options.Value.PollInterval;
            return next is { } n ? TimeSpan.FromTicks(Math.Clamp((n - time.GetUtcNow()).Ticks, 0, poll.Ticks)) : poll;
        }
    }
}
