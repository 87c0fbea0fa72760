using System.ComponentModel.DataAnnotations;
using System.Threading.Channels;

namespace OpenSciServer.Jobs.Schedules;

/// <summary>Cron schedules (section <c>Jobs:Schedules</c>).</summary>
public sealed class ScheduleOptions
{
    public const string SectionName = "Jobs:Schedules";

    /// <summary>Schedules one user may have.</summary>
    [Range(1, 10_000)]
    public int MaxPerUser { get; set; } = 50;

    /// <summary>The shortest time allowed between two runs of one schedule (so no schedule floods the job queue).</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// An occurrence found overdue by more than this (the platform was down, or busy) counts as missed,
    /// and the schedule's catch-up policy decides; a fresher one simply runs.
    /// </summary>
    public TimeSpan MissedAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest the scheduler sleeps without looking at the database (edits by another instance, clock jumps).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>History entries kept per schedule; older ones are deleted.</summary>
    [Range(10, 100_000)]
    public int HistoryKept { get; set; } = 200;
}

/// <summary>Wakes the scheduler when a schedule changes (or a test moves the clock).</summary>
public sealed class ScheduleSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _channel.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up or for <paramref name="timeout"/> on <paramref name="time"/>'s clock.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, time);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await _channel.Reader.ReadAsync(both.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The time passed.
        }
    }
}

public static class ScheduleSetup
{
    /// <summary>
    /// Schedules need an <see cref="IJobSubmitter"/> (the jobs service) at run time only: they resolve it
    /// when they validate or submit, so the platform starts without one.
    /// </summary>
    public static void AddJobSchedules(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ScheduleOptions>().BindConfiguration(ScheduleOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ScheduleSignal>();
        builder.Services.AddScoped<ScheduleService>();
        builder.Services.AddHostedService<ScheduleWorker>();
    }
}
