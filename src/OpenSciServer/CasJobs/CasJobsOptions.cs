using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.CasJobs;

/// <summary>Catalog queries: limits and the sandbox of the query workers (section "CasJobs").</summary>
public sealed class CasJobsOptions
{
    public const string SectionName = "CasJobs";

    /// <summary>Run each query worker inside bubblewrap (mount, network and process isolation). Turn off only where bwrap cannot run.</summary>
    public bool Sandbox { get; set; } = true;

    [Required]
    public string BubblewrapPath { get; set; } = "/usr/bin/bwrap";

    /// <summary>Time limit of a quick query on contexts without their own (CatalogContext.QuickQueryTimeoutSeconds) and on MyDB.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "CasJobs:QuickQueryTimeout must be between 1 second and 1 day.")]
    public TimeSpan QuickQueryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>DuckDB's memory limit for one query, e.g. "2GiB".</summary>
    [RegularExpression(@"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", ErrorMessage = "CasJobs:MemoryLimit is a size like 2GiB or 512MiB.")]
    public string MemoryLimit { get; set; } = "2GiB";

    /// <summary>
    /// The operating system's limit on all memory of one worker process (DuckDB, the runtime, result
    /// batches), enforced with a control group where the platform may create them (as root); empty: MemoryLimit + 512 MiB.
    /// </summary>
    [RegularExpression(@"^(\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB))?$", ErrorMessage = "CasJobs:WorkerMemoryLimit is a size like 3GiB, or empty.")]
    public string WorkerMemoryLimit { get; set; } = "";

    [Range(1, 256)]
    public int Threads { get; set; } = 2;

    /// <summary>Idle query workers kept warm for their user's next query (each serves one user and one context only); 0 starts a new worker for every query.</summary>
    [Range(0, 256)]
    public int WarmWorkers { get; set; } = 4;

    /// <summary>How long an idle warm worker waits for its next query before it is stopped.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "CasJobs:WarmWorkerIdleTime must be between 1 second and 1 day.")]
    public TimeSpan WarmWorkerIdleTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Rows of the synthetic demo catalogue created at first start (0: none).</summary>
    [Range(0, 1_000_000_000)]
    public long DemoRows { get; set; } = 1_000_000;

    /// <summary>Rows a quick query returns at most; the rest is left for a download or a long query into MyDB.</summary>
    [Range(1, 100_000_000)]
    public long QuickQueryMaxRows { get; set; } = 100_000;

    /// <summary>Time limit of a long (queued) query; past it the job fails.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00", ErrorMessage = "CasJobs:LongQueryTimeout must be between 10 seconds and 7 days.")]
    public TimeSpan LongQueryTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Long queries of one user that run at once (the rest wait, Ready, in submission order).</summary>
    [Range(1, 64, ErrorMessage = "CasJobs:LongQueriesPerUser must be between 1 and 64.")]
    public int LongQueriesPerUser { get; set; } = 2;

    /// <summary>Long queries of all users that run at once.</summary>
    [Range(1, 1024, ErrorMessage = "CasJobs:LongQueriesTotal must be between 1 and 1024.")]
    public int LongQueriesTotal { get; set; } = 8;

    /// <summary>
    /// Space each user's MyDB may use (DuckDB's used blocks), e.g. "10GiB" or "500MB". Past it, MyDB turns read-only
    /// and imports, uploads and queries that write are refused (507) until tables are dropped.
    /// </summary>
    [RegularExpression(@"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", ErrorMessage = "CasJobs:MyDbQuota is a size like 10GiB or 500MB.")]
    public string MyDbQuota { get; set; } = "10GiB";

    /// <summary>Rows a quick query without login (on a context shared with <c>public</c>) returns at most.</summary>
    [Range(1, 100_000_000)]
    public long AnonymousMaxRows { get; set; } = 10_000;

    /// <summary>Requests without login that run a query (query, tables, columns) one client address may make per minute.</summary>
    [Range(1, 100_000)]
    public int AnonymousQueriesPerMinute { get; set; } = 30;

    /// <summary>Longest an admin's import of a CSV or Parquet file into a new context may run.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00", ErrorMessage = "CasJobs:CatalogImportTimeout must be between 10 seconds and 7 days.")]
    public TimeSpan CatalogImportTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>PostgreSQL servers catalogs may live on, by name (server / HPC mode; see Engines/Postgres and decision 0014).</summary>
    public Dictionary<string, Engines.Postgres.PostgresServerOptions> PostgresServers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The worker's operating-system memory limit in bytes.</summary>
    public long WorkerMemoryBytes(string duckDbMemoryLimit) =>
        string.IsNullOrWhiteSpace(WorkerMemoryLimit) ? ParseSize(duckDbMemoryLimit) + (512L << 20) : ParseSize(WorkerMemoryLimit);

    /// <summary>Reads a size as DuckDB writes them: 2GiB (powers of 1024), 2GB (powers of 1000), or plain bytes (100B).</summary>
    public static long ParseSize(string size)
    {
        ArgumentNullException.ThrowIfNull(size);
        var match = System.Text.RegularExpressions.Regex.Match(size.Trim(), @"^(\d+(?:\.\d+)?)\s*(?:([KMGT])(i?))?B$");
        if (!match.Success)
        {
            throw new FormatException($"'{size}' is not a size like 2GiB or 500MB.");
        }

        var power = match.Groups[2].Success ? "KMGT".IndexOf(match.Groups[2].Value[0], StringComparison.Ordinal) + 1 : 0;
        var unit = Math.Pow(match.Groups[3].Value.Length > 0 ? 1024 : 1000, power);
        return (long)(double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * unit);
    }
}
