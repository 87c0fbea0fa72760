using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.MyDb;

/// <summary>A table someone shared with the caller, and the name SQL gives it.</summary>
public sealed record SharedTableInfo(string Owner, string Table, string QueryName);

/// <summary>
/// What every query on a MyDB needs from the platform: the quota (over it, MyDB is opened read-only and SQL that
/// writes is answered with 507), and the tables others shared with the caller, which the worker copies into the
/// read-only catalog <c>shared</c>. Query services (quick and long queries) pass their worker requests through here.
/// </summary>
public sealed class MyDbAccess(AccessService access, QueryRunner runner, IOptions<CasJobsOptions> options, IOptions<PlatformOptions> platform, TimeProvider time)
{
    public long QuotaBytes => CasJobsOptions.ParseSize(options.Value.MyDbQuota);

    /// <summary>A user's MyDB file, &lt;data&gt;/mydb/&lt;user&gt;/mydb.duckdb; its folder is created.</summary>
    public string MyDbPath(string userName)
    {
        var folder = Directory.CreateDirectory(Path.Combine(platform.Value.DataPath, "mydb", userName));
        return Path.Combine(folder.FullName, DuckDbSandbox.MyDbFileName);
    }

    /// <summary>
    /// The bytes a MyDB uses: DuckDB's used blocks as the last worker measured them (they shrink when tables are
    /// dropped; the file does not), else the file's size.
    /// </summary>
    public long UsedBytes(string userName)
    {
        var path = MyDbPath(userName);
        if (MyDbMetadata.Read(path).UsedBytes is { } used)
        {
            return used;
        }

        return (File.Exists(path) ? new FileInfo(path).Length : 0) + (File.Exists(path + ".wal") ? new FileInfo(path + ".wal").Length : 0);
    }

    /// <summary>Refuses (507) when MyDB is over its quota, or would be after adding <paramref name="incomingBytes"/>.</summary>
    public void EnsureRoom(Caller caller, long incomingBytes)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var used = UsedBytes(caller.UserName);
        var quota = QuotaBytes;
        if (used >= quota)
        {
            throw new PlatformException(ProblemKind.InsufficientStorage, OverQuotaMessage(used, quota));
        }

        if (used + incomingBytes > quota)
        {
            throw new PlatformException(ProblemKind.InsufficientStorage,
                $"This file ({Size(incomingBytes)}) does not fit in your MyDB: {Size(used)} of its {Size(quota)} quota are used. " + FreeSpaceAdvice);
        }
    }

    /// <summary>
    /// The MyDB part of a worker request for a query of the caller's: read-only over quota, the shared
    /// tables, the clock. Shared tables are copied for the query, so only when its SQL names the
    /// <c>shared</c> catalog at all (a cheap filter: what is copied is only ever what was granted).
    /// </summary>
    public async Task<WorkerMyDb> ForQueryAsync(Caller caller, string? sql, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var shared = new List<WorkerSharedTable>();
        var binds = new List<WorkerBind>();
        var named = sql is null || sql.Contains(MyDbSession.SharedCatalog, StringComparison.OrdinalIgnoreCase);
        foreach (var owner in (named ? await SharedWithAsync(caller, ct) : []).GroupBy(s => s.Owner, StringComparer.Ordinal))
        {
            var path = MyDbPath(owner.Key);
            binds.Add(new WorkerBind(Path.GetDirectoryName(path)!, Writable: false));
            shared.AddRange(owner.Select(t => new WorkerSharedTable(owner.Key, t.Table, path)));
        }

        return new WorkerMyDb(time.GetUtcNow(), ReadOnly: UsedBytes(caller.UserName) >= QuotaBytes, shared, binds);
    }

    /// <summary>Runs a query's worker; a write refused because MyDB is over its quota becomes a 507 that says how to free space.</summary>
    public async Task<QueryOutcome> RunAsync(Caller caller, WorkerRequest request, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await runner.RunAsync(request, timeout, ct);
        }
        catch (PlatformException e) when (request.MyDb?.ReadOnly == true && e.Message.Contains("read-only mode", StringComparison.Ordinal))
        {
            throw new PlatformException(ProblemKind.InsufficientStorage, OverQuotaMessage(UsedBytes(caller.UserName), QuotaBytes));
        }
    }

    /// <summary>MyDB tables others shared with the caller (read), directly or through a group.</summary>
    public async Task<IReadOnlyList<SharedTableInfo>> SharedWithAsync(Caller caller, CancellationToken ct)
    {
        var result = new List<SharedTableInfo>();
        foreach (var shared in await access.SharedWithAsync(caller, ResourceTypes.MyDbTable, ct))
        {
            var parts = shared.Resource.Key.Split('/');
            if (shared.Actions.HasFlag(ResourceActions.Read) && parts.Length == 2 && parts[0] != caller.UserName)
            {
                result.Add(new SharedTableInfo(parts[0], parts[1], QueryName(parts[0], parts[1])));
            }
        }

        return result.OrderBy(s => s.Owner, StringComparer.Ordinal).ThenBy(s => s.Table, StringComparer.Ordinal).ToList();
    }

    /// <summary>How SQL names a table shared by <paramref name="owner"/>: <c>shared.owner.table</c>.</summary>
    public static string QueryName(string owner, string table) => $"{MyDbSession.SharedCatalog}.{owner}.{table}";

    /// <summary>The resource key of a MyDB table for sharing: "owner/table".</summary>
    public static string ResourceKey(string owner, string table) => $"{owner}/{table}";

    public static string OverQuotaMessage(long used, long quota) =>
        $"Your MyDB uses {Size(used)} of its {Size(quota)} quota, so it is read-only until you free space: reading still works, writing does not. " + FreeSpaceAdvice;

    private const string FreeSpaceAdvice =
        "Drop tables you no longer need (DELETE /api/casjobs/mydb/tables/{name}, or on the MyDB page) — export them to a volume first to keep a copy.";

    public static string Size(long bytes) => Files.QuotaService.Bytes(bytes);
}
