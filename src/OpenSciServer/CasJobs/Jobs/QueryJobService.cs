using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using OpenSciServer.Accounts;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Jobs;

public sealed record SubmitQueryJobRequest(string? Context, string? Query, string? TaskName);

/// <summary>A long query as the API shows it. Times are ISO 8601; the fields a job does not have yet are null.</summary>
public sealed record QueryJobResponse(
    long Id,
    string Context,
    string Query,
    string TaskName,
    int Status,
    string StatusName,
    DateTimeOffset SubmittedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? StartedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? FinishedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? Rows,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? CreatedTable,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Message)
{
    public static QueryJobResponse From(QueryJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new QueryJobResponse(job.Id, job.Context, job.Query, job.TaskName, (int)job.Status, job.Status.ToString(),
            job.SubmittedAt, job.StartedAt, job.FinishedAt, job.Rows, job.CreatedTable, job.Message);
    }
}

/// <summary>
/// Long (queued) queries: submit, history, cancel, re-run. A job is a row in the platform database; the
/// <see cref="QueryJobQueue"/> runs it in a sandboxed worker. Everything a user can get wrong in the SQL text,
/// the context or T-SQL is refused at submission, before anything is queued.
/// </summary>
public sealed class QueryJobService(PlatformDbContext db, QueryService queries, QueryJobQueue queue, TimeProvider time)
{
    /// <summary>Most jobs one history page lists.</summary>
    public const int MaxTop = 1000;

    /// <param name="intoTable">SciServer's CreateTable/TableName: the result of the (single SELECT) query goes into this new MyDB table.</param>
    public async Task<QueryJobResponse> SubmitAsync(Caller caller, string? contextName, string? sql, string? taskName, string? intoTable, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (string.IsNullOrWhiteSpace(sql))
        {
            throw PlatformException.Invalid("The query is empty.", "query");
        }

        if (sql.Length > QueryService.MaxSqlLength)
        {
            throw PlatformException.Invalid($"The query is {sql.Length:N0} characters long; at most {QueryService.MaxSqlLength:N0} are accepted. Upload data into MyDB instead of inlining it.", "query");
        }

        taskName = (taskName ?? "").Trim();
        if (taskName.Length > 256)
        {
            throw PlatformException.Invalid("The task name is longer than 256 characters.", "taskName");
        }

        // The same checks and words as a quick query: an unknown context and one not shared with the caller look alike.
        var contextPath = await queries.ContextPathAsync(caller, contextName, ct);
        var context = contextPath is null ? QueryService.MyDbContext : contextName!.Trim();
        if (intoTable is not null)
        {
            sql = QueryJobSql.WithIntoTable(sql, CsvTable.CheckTableName(intoTable));
        }

        // T-SQL the platform refuses (TOP PERCENT, ...) is refused now, not when the job runs; in PostgreSQL also bad crossmatch calls.
        _ = Engines.Postgres.PostgresLocation.IsPostgres(contextPath) ? Engines.Postgres.PostgresCatalogs.Translate(sql).Count : TSqlTranslator.Translate(sql).Statements.Count;
        var job = new QueryJob
        {
            UserId = caller.UserId,
            UserName = caller.UserName,
            Context = context,
            Query = sql,
            TaskName = taskName,
            Status = QueryJobStatus.Ready,
            SubmittedAt = time.GetUtcNow(),
        };
        db.Add(job);
        await db.SaveChangesAsync(ct);
        queue.Wake();
        return QueryJobResponse.From(job);
    }

    /// <summary>The caller's jobs, newest first.</summary>
    public async Task<IReadOnlyList<QueryJobResponse>> ListAsync(Caller caller, int? top, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var count = top ?? 50;
        if (count is < 1 or > MaxTop)
        {
            throw PlatformException.Invalid($"top must be between 1 and {MaxTop}.", "top");
        }

        var jobs = await db.Set<QueryJob>().AsNoTracking().Where(j => j.UserId == caller.UserId)
            .OrderByDescending(j => j.Id).Take(count).ToListAsync(ct);
        return jobs.Select(QueryJobResponse.From).ToList();
    }

    public async Task<QueryJobResponse> GetAsync(Caller caller, long id, CancellationToken ct) =>
        QueryJobResponse.From(await OwnAsync(caller, id, ct));

    /// <summary>
    /// A queued job is canceled at once (3); a running one becomes Canceling (2) and its worker is killed, then
    /// Canceled (3). A job that has ended is left as it is.
    /// </summary>
    public async Task<QueryJobResponse> CancelAsync(Caller caller, long id, CancellationToken ct)
    {
        var job = await OwnAsync(caller, id, ct);
        var now = time.GetUtcNow();
        if (job.Status == QueryJobStatus.Ready)
        {
            await db.Set<QueryJob>().Where(j => j.Id == id && j.Status == QueryJobStatus.Ready).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, QueryJobStatus.Canceled)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.Message, "Canceled before it started."), ct);
            job = await OwnAsync(caller, id, ct); // or the queue started it meanwhile
        }

        if (job.Status == QueryJobStatus.Started)
        {
            await db.Set<QueryJob>().Where(j => j.Id == id && j.Status == QueryJobStatus.Started).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, QueryJobStatus.Canceling), ct);
            queue.Cancel(id);
            job = await OwnAsync(caller, id, ct);
        }

        return QueryJobResponse.From(job);
    }

    /// <summary>Submits the same query in the same context again, as a new job (checked again like a new one).</summary>
    public async Task<QueryJobResponse> RerunAsync(Caller caller, long id, CancellationToken ct)
    {
        var job = await OwnAsync(caller, id, ct);
        return await SubmitAsync(caller, job.Context, job.Query, job.TaskName, intoTable: null, ct);
    }

    private async Task<QueryJob> OwnAsync(Caller caller, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        // Another user's job answers exactly like one that does not exist.
        return await db.Set<QueryJob>().AsNoTracking().FirstOrDefaultAsync(j => j.Id == id && j.UserId == caller.UserId, ct)
            ?? throw PlatformException.NotFound($"You have no job {id}.");
    }
}
