using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace OpenSciServer.CasJobs.Jobs;

/// <summary>CasJobs' job statuses, with SciServer's numbers.</summary>
public enum QueryJobStatus
{
    Ready = 0,
    Started = 1,
    Canceling = 2,
    Canceled = 3,
    Failed = 4,
    Finished = 5,
}

/// <summary>A long (queued) query: run by a sandboxed worker, its result written into the owner's MyDB.</summary>
public sealed class QueryJob
{
    /// <summary>CasJobs' JobID: an integer.</summary>
    public long Id { get; set; }

    public Guid UserId { get; set; }

    public required string UserName { get; set; }

    /// <summary>The context the query ran in, as the user named it (MyDB or a catalog).</summary>
    public required string Context { get; set; }

    public required string Query { get; set; }

    public string TaskName { get; set; } = "";

    /// <summary>The MyDB table the job created, when it created one (CasJobs' Created_Table).</summary>
    public string? CreatedTable { get; set; }

    public QueryJobStatus Status { get; set; }

    public DateTimeOffset SubmittedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Rows written (or returned) by the job's last statement.</summary>
    public long? Rows { get; set; }

    /// <summary>Why the job failed or was canceled, in words for the user.</summary>
    public string? Message { get; set; }

    /// <summary>The worker's process id while the job runs, so a restarted platform can stop an orphan.</summary>
    public int? WorkerPid { get; set; }

    /// <summary>How many times a worker was started for the job (restarts requeue a running job).</summary>
    public int Attempts { get; set; }
}

internal sealed class QueryJobConfiguration : IEntityTypeConfiguration<QueryJob>
{
    public void Configure(EntityTypeBuilder<QueryJob> builder)
    {
        builder.ToTable("query_jobs");
        builder.HasKey(j => j.Id);
        builder.Property(j => j.UserName).HasMaxLength(32).IsRequired();
        builder.Property(j => j.Context).HasMaxLength(64).IsRequired();
        builder.Property(j => j.Query).IsRequired();
        builder.Property(j => j.TaskName).HasMaxLength(256).IsRequired();
        builder.Property(j => j.CreatedTable).HasMaxLength(128);
        builder.Property(j => j.Message).HasMaxLength(4000);
        builder.HasIndex(j => new { j.UserId, j.SubmittedAt });
        builder.HasIndex(j => j.Status);
    }
}
