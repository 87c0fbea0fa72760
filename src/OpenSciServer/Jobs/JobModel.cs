using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using OpenSciServer.Accounts;
using OpenSciServer.Compute;

namespace OpenSciServer.Jobs;

/// <summary>
/// A compute job: a shell script or a notebook run once, headless, as its owner's uid. The row is the
/// truth; <see cref="JobDispatcher"/> moves it through its statuses.
/// </summary>
public sealed class ComputeJob
{
    public const int MaxQueueReasonLength = 1000;

    public long Id { get; set; }

    public Guid OwnerId { get; set; }

    public required string OwnerName { get; set; }

    /// <summary>The user's alias for it (SciServer's submitterDID); may be empty.</summary>
    public string? Name { get; set; }

    public JobKind Kind { get; set; }

    /// <summary>Command jobs: the script text, written to command.txt and run by bash, never interpolated.</summary>
    public string? Command { get; set; }

    /// <summary>Notebook jobs: the notebook as seen inside (/home/idies/workspace/...).</summary>
    public string? NotebookPath { get; set; }

    /// <summary>Notebook jobs: parameters.txt, also in SCISERVER_JOB_PARAMETERS.</summary>
    public string? Parameters { get; set; }

    public long DomainId { get; set; }

    public ComputeDomain? Domain { get; set; }

    public long ImageId { get; set; }

    public ComputeImage? Image { get; set; }

    public JobStatus Status { get; set; }

    /// <summary>
    /// Why the job waits, while it waits: the platform's own queue (PENDING: the per-user or the global limit) or
    /// the backend's (QUEUED: Slurm's pending reason). Null once it runs, and when it ends.
    /// </summary>
    public string? QueueReason { get; set; }

    public TimeSpan TimeLimit { get; set; }

    /// <summary>The job directory as seen inside, e.g. /home/idies/workspace/Temporary/alice/jobs/12-3fa9; also where it runs.</summary>
    public required string WorkingDirectory { get; set; }

    /// <summary>The schedule whose run this is (cron jobs), if any.</summary>
    public long? ScheduleId { get; set; }

    /// <summary>Increases with every start of this row (a start interrupted by a platform crash is found by its attempt).</summary>
    public int Attempt { get; set; }

    /// <summary>The backend's handle (the local sandbox's group name, a Slurm job id). Server-side only.</summary>
    public string? BackendId { get; set; }

    public int? ExitCode { get; set; }

    /// <summary>The platform token in the job's /home/idies/keystone.token, revoked at the end.</summary>
    public Guid? PlatformTokenId { get; set; }

    public int? Uid { get; set; }

    /// <summary>The platform's address for SciScript inside the job (sciscript.json).</summary>
    public string? PlatformUrl { get; set; }

    public DateTimeOffset SubmittedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public List<JobVolume> Volumes { get; set; } = [];

    public List<JobMessage> Messages { get; set; } = [];

    /// <summary>Whether the status is final (SUCCESS, ERROR or CANCELED).</summary>
    public bool IsFinal => Status >= JobStatus.Success;
}

/// <summary>A volume a job mounts (rechecked at its start).</summary>
public sealed class JobVolume
{
    public long Id { get; set; }

    public long JobId { get; set; }

    public SessionVolumeKind Kind { get; set; }

    public string? RootVolume { get; set; }

    public string? Owner { get; set; }

    public required string Name { get; set; }

    public bool Writable { get; set; }

    internal SessionVolume ToChoice() => new() { Kind = Kind, RootVolume = RootVolume, Owner = Owner, Name = Name, Writable = Writable };

    internal static JobVolume From(SessionVolume v) => new() { Kind = v.Kind, RootVolume = v.RootVolume, Owner = v.Owner, Name = v.Name, Writable = v.Writable };
}

/// <summary>SciServer's message labels.</summary>
public static class JobMessageLabels
{
    public const string Cancel = "CANCEL";
    public const string Status = "STATUS";
    public const string Response = "RESPONSE";
    public const string Error = "ERROR";
    public const string Timeout = "TIMEOUT";
    public const string Output = "OUTPUT";
}

/// <summary>What happened to a job, for its owner (JOBM's messages).</summary>
public sealed class JobMessage
{
    public long Id { get; set; }

    public long JobId { get; set; }

    public required string Label { get; set; }

    public required string Content { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class ComputeJobConfiguration : IEntityTypeConfiguration<ComputeJob>
{
    public void Configure(EntityTypeBuilder<ComputeJob> builder)
    {
        builder.ToTable("compute_jobs");
        builder.HasKey(j => j.Id);
        builder.Property(j => j.OwnerName).HasMaxLength(UserNames.MaxLength).IsRequired();
        builder.Property(j => j.Name).HasMaxLength(JobService.MaxNameLength);
        builder.Property(j => j.Command).HasMaxLength(JobService.MaxCommandLength);
        builder.Property(j => j.NotebookPath).HasMaxLength(JobService.MaxPathLength);
        builder.Property(j => j.Parameters).HasMaxLength(JobService.MaxParametersLength);
        builder.Property(j => j.WorkingDirectory).HasMaxLength(JobService.MaxPathLength).IsRequired();
        builder.Property(j => j.BackendId).HasMaxLength(128);
        builder.Property(j => j.QueueReason).HasMaxLength(ComputeJob.MaxQueueReasonLength);
        builder.Property(j => j.PlatformUrl).HasMaxLength(512);
        builder.Ignore(j => j.IsFinal);
        builder.HasIndex(j => new { j.Status, j.SubmittedAt });
        builder.HasIndex(j => new { j.OwnerId, j.SubmittedAt });
        builder.HasIndex(j => j.ScheduleId);
        builder.HasOne<User>().WithMany().HasForeignKey(j => j.OwnerId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne(j => j.Domain).WithMany().HasForeignKey(j => j.DomainId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne(j => j.Image).WithMany().HasForeignKey(j => j.ImageId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(j => j.Volumes).WithOne().HasForeignKey(v => v.JobId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(j => j.Messages).WithOne().HasForeignKey(m => m.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class JobVolumeConfiguration : IEntityTypeConfiguration<JobVolume>
{
    public void Configure(EntityTypeBuilder<JobVolume> builder)
    {
        builder.ToTable("compute_job_volumes");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.RootVolume).HasMaxLength(64);
        builder.Property(v => v.Owner).HasMaxLength(UserNames.MaxLength);
        builder.Property(v => v.Name).HasMaxLength(64).IsRequired();
    }
}

internal sealed class JobMessageConfiguration : IEntityTypeConfiguration<JobMessage>
{
    public void Configure(EntityTypeBuilder<JobMessage> builder)
    {
        builder.ToTable("compute_job_messages");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Label).HasMaxLength(16).IsRequired();
        builder.Property(m => m.Content).HasMaxLength(4000).IsRequired();
    }
}
