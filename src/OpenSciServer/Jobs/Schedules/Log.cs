namespace OpenSciServer.Jobs.Schedules;

/// <summary>Cron schedules' log messages (event ids 1750-1769).</summary>
internal static partial class Log
{
    [LoggerMessage(1750, LogLevel.Information, "Schedule {ScheduleId} created by {Owner}: '{Cron}' in {TimeZone}")]
    public static partial void Created(ILogger logger, long scheduleId, string owner, string cron, string timeZone);

    [LoggerMessage(1751, LogLevel.Information, "Schedule {ScheduleId}: the run due at {DueAt} submitted job {JobId}")]
    public static partial void Submitted(ILogger logger, long scheduleId, DateTimeOffset dueAt, long jobId);

    [LoggerMessage(1752, LogLevel.Warning, "Schedule {ScheduleId}: the occurrence due at {DueAt} is already in its history (did the clock go back?); not run again")]
    public static partial void AlreadyRan(ILogger logger, long scheduleId, DateTimeOffset dueAt);

    [LoggerMessage(1753, LogLevel.Error, "Schedule {ScheduleId}: submitting a run failed unexpectedly")]
    public static partial void SubmitCrashed(ILogger logger, long scheduleId, Exception exception);

    [LoggerMessage(1754, LogLevel.Error, "Schedule {ScheduleId}: firing failed")]
    public static partial void FireFailed(ILogger logger, long scheduleId, Exception exception);

    [LoggerMessage(1755, LogLevel.Error, "The scheduler's loop failed")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(1756, LogLevel.Warning, "{Count} schedule runs were being submitted when the platform stopped: marked Interrupted, not submitted again")]
    public static partial void Interrupted(ILogger logger, int count);
}
