using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using OpenSciServer.Accounts;

namespace OpenSciServer.Jobs.Schedules;

/// <summary>What a due run does while the schedule's previous run is still going.</summary>
public enum OverlapPolicy
{
    /// <summary>The run is recorded as skipped; nothing is submitted.</summary>
    Skip = 0,

    /// <summary>The run is submitted anyway; runs may overlap.</summary>
    Allow = 1,
}

/// <summary>What happens to the occurrences missed while the platform was not running.</summary>
public enum CatchUpPolicy
{
    /// <summary>One run stands for all of them.</summary>
    RunOnce = 0,

    /// <summary>None runs; the schedule continues from now.</summary>
    Skip = 1,
}

public enum ScheduleRunOutcome
{
    /// <summary>Claimed (the occurrence will never be claimed again) and being submitted.</summary>
    Submitting = 0,
    Submitted = 1,
    Skipped = 2,
    /// <summary>The jobs service refused the submission (the reason says why).</summary>
    Failed = 3,
    /// <summary>The platform stopped between claiming and recording the submission; not retried, so it never runs twice.</summary>
    Interrupted = 4,
}

/// <summary>A cron job: a job template submitted at the occurrences of a cron expression in a time zone.</summary>
public sealed class JobSchedule
{
    public long Id { get; set; }

    public Guid OwnerId { get; set; }

    public required string OwnerName { get; set; }

    public required string Name { get; set; }

    /// <summary>5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), or a macro such as @daily.</summary>
    public required string Cron { get; set; }

    /// <summary>IANA time zone id (e.g. Europe/Berlin) the expression is read in.</summary>
    public required string TimeZone { get; set; }

    /// <summary>The <see cref="JobSubmission"/> every run submits, as JSON (<see cref="ScheduleTemplate"/>).</summary>
    public required string Template { get; set; }

    public bool Enabled { get; set; }

    public OverlapPolicy Overlap { get; set; }

    public CatchUpPolicy CatchUp { get; set; }

    /// <summary>
    /// The next occurrence not yet claimed (UTC). The scheduler claims an occurrence by moving this past
    /// it in the same transaction that records the run, so an occurrence is claimed at most once.
    /// </summary>
    public DateTimeOffset? NextDueAt { get; set; }

    /// <summary>The job of the last submitted run, asked for the overlap policy.</summary>
    public long? LastJobId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One entry of a schedule's history: an occurrence (or several missed ones) and what became of it.</summary>
public sealed class JobScheduleRun
{
    public long Id { get; set; }

    public long ScheduleId { get; set; }

    /// <summary>The occurrence (UTC); for a catch-up, the first one missed.</summary>
    public DateTimeOffset DueAt { get; set; }

    /// <summary>How many occurrences this entry stands for: more than 1 after downtime (capped).</summary>
    public int Occurrences { get; set; } = 1;

    public DateTimeOffset RecordedAt { get; set; }

    public DateTimeOffset? SubmittedAt { get; set; }

    public long? JobId { get; set; }

    public ScheduleRunOutcome Outcome { get; set; }

    /// <summary>Why it was skipped or failed, for the user.</summary>
    public string? Reason { get; set; }
}

internal sealed class JobScheduleConfiguration : IEntityTypeConfiguration<JobSchedule>
{
    public void Configure(EntityTypeBuilder<JobSchedule> builder)
    {
        builder.ToTable("job_schedules");
        builder.HasKey(s => s.Id);
        builder.Property(s => s.OwnerName).HasMaxLength(UserNames.MaxLength).IsRequired();
        builder.Property(s => s.Name).HasMaxLength(ScheduleService.MaxNameLength).IsRequired();
        builder.Property(s => s.Cron).HasMaxLength(CronSchedule.MaxLength).IsRequired();
        builder.Property(s => s.TimeZone).HasMaxLength(CronSchedule.MaxZoneLength).IsRequired();
        builder.Property(s => s.Template).IsRequired();
        builder.HasIndex(s => new { s.OwnerId, s.Name }).IsUnique();
        builder.HasIndex(s => new { s.Enabled, s.NextDueAt });
        builder.HasOne<User>().WithMany().HasForeignKey(s => s.OwnerId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class JobScheduleRunConfiguration : IEntityTypeConfiguration<JobScheduleRun>
{
    public void Configure(EntityTypeBuilder<JobScheduleRun> builder)
    {
        builder.ToTable("job_schedule_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Reason).HasMaxLength(2000);
        // The database's own guarantee that an occurrence is recorded (and so submitted) once.
        builder.HasIndex(r => new { r.ScheduleId, r.DueAt }).IsUnique();
        builder.HasIndex(r => r.Outcome);
        builder.HasOne<JobSchedule>().WithMany().HasForeignKey(r => r.ScheduleId).OnDelete(DeleteBehavior.Cascade);
    }
}
