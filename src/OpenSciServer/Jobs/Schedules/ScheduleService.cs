using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs.Schedules;

/// <summary>What a user sets on a schedule (create and update alike).</summary>
public sealed record ScheduleInput(
    string? Name,
    string? Cron,
    string? TimeZone,
    bool Enabled,
    OverlapPolicy Overlap,
    CatchUpPolicy CatchUp,
    JobSubmission? Job);

/// <summary>A schedule with what its owner wants to see: the words for its expression, its next runs, its last runs.</summary>
public sealed record ScheduleView(
    JobSchedule Schedule,
    JobSubmission Job,
    string Description,
    IReadOnlyList<DateTimeOffset> NextRuns,
    IReadOnlyList<JobScheduleRun> History);

/// <summary>When an expression fires, for the form's preview.</summary>
public sealed record CronPreview(string Description, IReadOnlyList<DateTimeOffset> NextRuns);

/// <summary>
/// Cron schedules of jobs: their owner's CRUD, and one occurrence fired at a time for the
/// <see cref="ScheduleWorker"/>. Only the owner sees a schedule; anyone else gets the 404 of one that does not exist.
/// </summary>
public sealed class ScheduleService(
    PlatformDbContext db,
    IServiceProvider services,
    AccountService accounts,
    ScheduleSignal signal,
    IOptions<ScheduleOptions> options,
    TimeProvider time,
    ILogger<ScheduleService> logger)
{
    public const int MaxNameLength = 64;

    /// <summary>Missed occurrences are counted up to this many (an every-minute schedule down for a week).</summary>
    public const int MissedCountCap = 10_000;

    private DbSet<JobSchedule> Schedules => db.Set<JobSchedule>();

    private DbSet<JobScheduleRun> Runs => db.Set<JobScheduleRun>();

    public static CronPreview Preview(string? cron, string? timeZone, DateTimeOffset now, int count)
    {
        var schedule = CronSchedule.Parse(cron, timeZone);
        return new CronPreview(schedule.Describe(), schedule.NextRuns(now, Math.Clamp(count, 1, 50)));
    }

    public async Task<JobSchedule> CreateAsync(Caller owner, ScheduleInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(input);
        var (name, cron, job) = await CheckAsync(owner, input, cancellationToken);
        if (await Schedules.CountAsync(s => s.OwnerId == owner.UserId, cancellationToken) >= options.Value.MaxPerUser)
        {
            throw PlatformException.Conflict($"You have {options.Value.MaxPerUser} schedules, the most one user may have: delete one you no longer need first.");
        }

        if (await Schedules.AnyAsync(s => s.OwnerId == owner.UserId && s.Name == name, cancellationToken))
        {
            throw PlatformException.Conflict($"You already have a schedule named '{name}'.", "name");
        }

        var now = time.GetUtcNow();
        var schedule = new JobSchedule
        {
            OwnerId = owner.UserId,
            OwnerName = owner.UserName,
            Name = name,
            Cron = cron.Text,
            TimeZone = cron.ZoneId,
            Template = ScheduleTemplate.Serialize(job),
            Enabled = input.Enabled,
            Overlap = input.Overlap,
            CatchUp = input.CatchUp,
            NextDueAt = input.Enabled ? cron.NextAfter(now) : null,
            CreatedAt = now,
            UpdatedAt = now,
        };
        Schedules.Add(schedule);
        await SaveUniqueAsync(name, cancellationToken);
        Log.Created(logger, schedule.Id, owner.UserName, schedule.Cron, schedule.TimeZone);
        signal.Wake();
        return schedule;
    }

    public async Task<JobSchedule> UpdateAsync(Caller owner, long id, ScheduleInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(input);
        var schedule = await FindAsync(owner, id, cancellationToken);
        var (name, cron, job) = await CheckAsync(owner, input, cancellationToken);
        if (name != schedule.Name && await Schedules.AnyAsync(s => s.OwnerId == owner.UserId && s.Name == name, cancellationToken))
        {
            throw PlatformException.Conflict($"You already have a schedule named '{name}'.", "name");
        }

        var now = time.GetUtcNow();
        schedule.Name = name;
        schedule.Cron = cron.Text;
        schedule.TimeZone = cron.ZoneId;
        schedule.Template = ScheduleTemplate.Serialize(job);
        schedule.Overlap = input.Overlap;
        schedule.CatchUp = input.CatchUp;
        schedule.Enabled = input.Enabled;
        // From now on: a changed expression does not owe runs for the past.
        schedule.NextDueAt = input.Enabled ? cron.NextAfter(now) : null;
        schedule.UpdatedAt = now;
        await SaveUniqueAsync(name, cancellationToken);
        signal.Wake();
        return schedule;
    }

    /// <summary>Turns a schedule on (from the next occurrence after now: a disabled time owes no runs) or off.</summary>
    public async Task<JobSchedule> SetEnabledAsync(Caller owner, long id, bool enabled, CancellationToken cancellationToken)
    {
        var schedule = await FindAsync(owner, id, cancellationToken);
        if (schedule.Enabled != enabled)
        {
            var now = time.GetUtcNow();
            schedule.Enabled = enabled;
            schedule.NextDueAt = enabled ? CronSchedule.Parse(schedule.Cron, schedule.TimeZone).NextAfter(now) : null;
            schedule.UpdatedAt = now;
            await db.SaveChangesAsync(cancellationToken);
            signal.Wake();
        }

        return schedule;
    }

    /// <summary>Deletes the schedule and its history; jobs it submitted stay.</summary>
    public async Task DeleteAsync(Caller owner, long id, CancellationToken cancellationToken)
    {
        var schedule = await FindAsync(owner, id, cancellationToken);
        Schedules.Remove(schedule);
        await db.SaveChangesAsync(cancellationToken);
        signal.Wake();
    }

    public async Task<IReadOnlyList<JobSchedule>> ListAsync(Caller owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return await Schedules.AsNoTracking().Where(s => s.OwnerId == owner.UserId).OrderBy(s => s.Name).ToListAsync(cancellationToken);
    }

    /// <summary>The last run of each schedule (for lists).</summary>
    public async Task<Dictionary<long, JobScheduleRun>> LastRunsAsync(IEnumerable<long> scheduleIds, CancellationToken cancellationToken)
    {
        var ids = scheduleIds.ToList();
        var lastIds = await Runs.Where(r => ids.Contains(r.ScheduleId)).GroupBy(r => r.ScheduleId).Select(g => g.Max(r => r.Id)).ToListAsync(cancellationToken);
        return await Runs.AsNoTracking().Where(r => lastIds.Contains(r.Id)).ToDictionaryAsync(r => r.ScheduleId, cancellationToken);
    }

    public async Task<ScheduleView> GetAsync(Caller owner, long id, int nextRuns, int history, CancellationToken cancellationToken)
    {
        var schedule = await FindAsync(owner, id, cancellationToken);
        var runs = await Runs.AsNoTracking().Where(r => r.ScheduleId == id).OrderByDescending(r => r.DueAt).ThenByDescending(r => r.Id)
            .Take(Math.Clamp(history, 0, options.Value.HistoryKept)).ToListAsync(cancellationToken);
        return View(schedule, runs, nextRuns);
    }

    public ScheduleView View(JobSchedule schedule, IReadOnlyList<JobScheduleRun> history, int nextRuns)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var cron = CronSchedule.Parse(schedule.Cron, schedule.TimeZone);
        var next = schedule.Enabled && schedule.NextDueAt is { } due
            ? new[] { due }.Concat(cron.NextRuns(Max(due, time.GetUtcNow()), Math.Clamp(nextRuns, 1, 50) - 1)).Take(Math.Clamp(nextRuns, 0, 50)).ToList()
            : [];
        return new ScheduleView(schedule, ScheduleTemplate.Deserialize(schedule.Template), cron.Describe(), next, history);
    }

    private async Task<JobSchedule> FindAsync(Caller owner, long id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return await Schedules.FirstOrDefaultAsync(s => s.Id == id && s.OwnerId == owner.UserId, cancellationToken)
            ?? throw PlatformException.NotFound($"You have no schedule {id} (GET /api/jobs/schedules lists yours).");
    }

    private async Task<(string Name, CronSchedule Cron, JobSubmission Job)> CheckAsync(Caller owner, ScheduleInput input, CancellationToken cancellationToken)
    {
        var name = (input.Name ?? "").Trim();
        if (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl))
        {
            throw PlatformException.Invalid($"Give the schedule a name of 1 to {MaxNameLength} characters on one line.", "name");
        }

        var cron = CronSchedule.Parse(input.Cron, input.TimeZone);
        var now = time.GetUtcNow();
        if (cron.NextAfter(now) is null)
        {
            throw PlatformException.Invalid($"'{cron.Text}' never fires after now in {cron.ZoneId}: check the day and month fields.", "cron");
        }

        if (cron.ShortestGap(now) is { } gap && gap < options.Value.MinInterval)
        {
            throw PlatformException.Invalid(
                $"'{cron.Text}' would run every {Words(gap)}; schedules on this platform run at most every {Words(options.Value.MinInterval)}.", "cron");
        }

        if (input.Job is null)
        {
            throw PlatformException.Invalid("Give the job the schedule submits (job: kind, command or notebookPath, domain, image, volumes).", "job");
        }

        if (!Enum.IsDefined(input.Overlap) || !Enum.IsDefined(input.CatchUp))
        {
            throw PlatformException.Invalid("overlap is Skip or Allow; catchUp is RunOnce or Skip.");
        }

        var job = input.Job with
        {
            DataVolumes = input.Job.DataVolumes ?? [],
            UserVolumes = input.Job.UserVolumes ?? [],
        };
        await Submitter().ValidateAsync(owner, job, cancellationToken);
        return (name, cron, job);
    }

    private async Task SaveUniqueAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Two creations with one name at once: the unique index lets one through.
            throw PlatformException.Conflict($"You already have a schedule named '{name}'.", "name");
        }
    }

    private IJobSubmitter Submitter() =>
        services.GetService<IJobSubmitter>()
        ?? throw PlatformException.Conflict("Jobs cannot be submitted on this platform (its jobs service is not running), so there is nothing to schedule.");

    // ---- The scheduler's side ----

    /// <summary>Enabled schedules with an occurrence due at <paramref name="now"/>, the most overdue first.</summary>
    internal async Task<List<long>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        await Schedules.AsNoTracking().Where(s => s.Enabled && s.NextDueAt != null && s.NextDueAt <= now)
            .OrderBy(s => s.NextDueAt).Select(s => s.Id).Take(limit).ToListAsync(cancellationToken);

    /// <summary>When the scheduler must look next.</summary>
    internal async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken) =>
        await Schedules.AsNoTracking().Where(s => s.Enabled && s.NextDueAt != null).OrderBy(s => s.NextDueAt)
            .Select(s => s.NextDueAt).FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// At platform start: runs claimed but never recorded as submitted (the platform stopped in between)
    /// are marked Interrupted. They are not submitted again: a schedule runs an occurrence at most once.
    /// </summary>
    internal async Task<int> ReconcileAsync(CancellationToken cancellationToken) =>
        await Runs.Where(r => r.Outcome == ScheduleRunOutcome.Submitting).ExecuteUpdateAsync(u => u
            .SetProperty(r => r.Outcome, ScheduleRunOutcome.Interrupted)
            .SetProperty(r => r.Reason, "The platform stopped while submitting this run. It was not submitted again, so that no occurrence runs twice; "
                + "if the submission got through, the job is in your jobs list."), cancellationToken);

    /// <summary>
    /// Fires the schedule's due occurrence, if it is still due: claims it (moves <see cref="JobSchedule.NextDueAt"/> past
    /// now and records the run, in one transaction, guarded by the expected NextDueAt), then applies the
    /// catch-up and overlap policies and submits.
    /// </summary>
    internal async Task FireAsync(long id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var schedule = await Schedules.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id && s.Enabled, cancellationToken);
        if (schedule?.NextDueAt is not { } due || due > now)
        {
            return;
        }

        CronSchedule cron;
        try
        {
            cron = CronSchedule.Parse(schedule.Cron, schedule.TimeZone);
        }
        catch (PlatformException e)
        {
            // E.g. a time zone the system no longer knows: stop, and say why in the history.
            await ClaimAsync(schedule, due, null, new JobScheduleRun { ScheduleId = id, DueAt = due, RecordedAt = now, Outcome = ScheduleRunOutcome.Failed, Reason = e.Message + " The schedule stopped." }, cancellationToken);
            return;
        }

        var count = cron.Count(due, now, MissedCountCap);
        var late = now - due;
        var missed = count > 1 || late > options.Value.MissedAfter;
        var run = new JobScheduleRun { ScheduleId = id, DueAt = due, Occurrences = Math.Max(count, 1), RecordedAt = now, Outcome = ScheduleRunOutcome.Submitting };
        if (missed)
        {
            var what = count > 1
                ? $"{(count >= MissedCountCap ? "At least " + MissedCountCap.ToString(System.Globalization.CultureInfo.InvariantCulture) : count.ToString(System.Globalization.CultureInfo.InvariantCulture))} occurrences were missed (from {due:yyyy-MM-dd HH:mm:ss} UTC) while the platform was not running"
                : $"This occurrence was missed by {Words(late)} while the platform was not running";
            (run.Outcome, run.Reason) = schedule.CatchUp switch
            {
                CatchUpPolicy.Skip => (ScheduleRunOutcome.Skipped, $"{what}; the catch-up policy is Skip, so none ran."),
                CatchUpPolicy.RunOnce => (ScheduleRunOutcome.Submitting, $"{what}; the catch-up policy is RunOnce, so this one run stands for {(count > 1 ? "them" : "it")}."),
            };
        }

        if (!await ClaimAsync(schedule, due, cron.NextAfter(now), run, cancellationToken))
        {
            return;
        }

        if (run.Outcome == ScheduleRunOutcome.Submitting)
        {
            await SubmitAsync(schedule, run, cancellationToken);
        }

        await TrimHistoryAsync(id, cancellationToken);
    }

    private async Task<bool> ClaimAsync(JobSchedule schedule, DateTimeOffset due, DateTimeOffset? next, JobScheduleRun run, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var claimed = await Schedules.Where(s => s.Id == schedule.Id && s.Enabled && s.NextDueAt == due)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.NextDueAt, next), cancellationToken);
        if (claimed == 0)
        {
            // Changed meanwhile (edited, disabled, deleted, or claimed by another instance).
            return false;
        }

        Runs.Add(run);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // This occurrence is already in the history (the clock went back): it ran, so it does not run again.
            await transaction.RollbackAsync(cancellationToken);
            db.ChangeTracker.Clear();
            await Schedules.Where(s => s.Id == schedule.Id && s.NextDueAt == due).ExecuteUpdateAsync(u => u.SetProperty(s => s.NextDueAt, next), cancellationToken);
            Log.AlreadyRan(logger, schedule.Id, due);
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private async Task SubmitAsync(JobSchedule schedule, JobScheduleRun run, CancellationToken cancellationToken)
    {
        var submitter = services.GetService<IJobSubmitter>();
        if (submitter is null)
        {
            await FinishAsync(run, ScheduleRunOutcome.Failed, "The platform's jobs service is not running, so nothing could be submitted.", null, cancellationToken);
            return;
        }

        if (schedule.Overlap == OverlapPolicy.Skip && schedule.LastJobId is { } previous
            && await submitter.GetStatusAsync(previous, cancellationToken) is { } status && status < JobStatus.Success)
        {
            await FinishAsync(run, ScheduleRunOutcome.Skipped, $"The previous run (job {previous}) was still {status.ToString().ToUpperInvariant()}; the overlap policy is Skip.", null, cancellationToken);
            return;
        }

        var user = await accounts.FindByNameAsync(schedule.OwnerName, cancellationToken);
        if (user is null || user.Id != schedule.OwnerId || user.Status != UserStatus.Active)
        {
            await FinishAsync(run, ScheduleRunOutcome.Failed, "The schedule's owner account is not active.", null, cancellationToken);
            return;
        }

        long jobId;
        try
        {
            jobId = await submitter.SubmitAsync(new Caller(user.Id, user.UserName, user.IsAdmin), ScheduleTemplate.Deserialize(schedule.Template), schedule.Id, cancellationToken);
        }
        catch (PlatformException e)
        {
            await FinishAsync(run, ScheduleRunOutcome.Failed, "The job was refused: " + e.Message, null, cancellationToken);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.SubmitCrashed(logger, schedule.Id, e);
            await FinishAsync(run, ScheduleRunOutcome.Failed, "The job could not be submitted because of an error in the platform (logged for the administrators).", null, cancellationToken);
            return;
        }

        await FinishAsync(run, ScheduleRunOutcome.Submitted, run.Reason, jobId, cancellationToken);
        await Schedules.Where(s => s.Id == schedule.Id).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastJobId, jobId), cancellationToken);
        Log.Submitted(logger, schedule.Id, run.DueAt, jobId);
    }

    private async Task FinishAsync(JobScheduleRun run, ScheduleRunOutcome outcome, string? reason, long? jobId, CancellationToken cancellationToken)
    {
        var submittedAt = jobId is null ? (DateTimeOffset?)null : time.GetUtcNow();
        // CancellationToken.None: once submitted, the record must be written even while the host stops.
        await Runs.Where(r => r.Id == run.Id).ExecuteUpdateAsync(u => u
            .SetProperty(r => r.Outcome, outcome)
            .SetProperty(r => r.Reason, reason)
            .SetProperty(r => r.JobId, jobId)
            .SetProperty(r => r.SubmittedAt, submittedAt), jobId is null ? cancellationToken : CancellationToken.None);
    }

    private async Task TrimHistoryAsync(long id, CancellationToken cancellationToken)
    {
        var cutoff = await Runs.Where(r => r.ScheduleId == id).OrderByDescending(r => r.Id).Skip(options.Value.HistoryKept)
            .Select(r => (long?)r.Id).FirstOrDefaultAsync(cancellationToken);
        if (cutoff is { } c)
        {
            await Runs.Where(r => r.ScheduleId == id && r.Id <= c).ExecuteDeleteAsync(cancellationToken);
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    internal static string Words(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays % 1 == 0 ? Plural((int)span.TotalDays, "day")
        : span.TotalHours >= 1 && span.TotalHours % 1 == 0 ? Plural((int)span.TotalHours, "hour")
        : span.TotalMinutes >= 1 && span.TotalMinutes % 1 == 0 ? Plural((int)span.TotalMinutes, "minute")
        : span.TotalSeconds >= 1 ? Plural((int)span.TotalSeconds, "second")
        : "less than a second";

    private static string Plural(int n, string unit) => n == 1 ? $"1 {unit}" : $"{n} {unit}s";
}
