using System.Globalization;
using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>
/// Asks a query worker to build a new catalog: the request's main database is the new DuckDB file (in a
/// fresh folder of its own), its <see cref="WorkerRequest.ContextPath"/> the table file to import, which
/// is the only other file the sandbox shows. <paramref name="Format"/> is "csv" or "parquet".
/// </summary>
public sealed record WorkerCatalogBuild(string Format, string Table);

/// <summary>
/// The worker's side of an admin's import: DuckDB reads the one source file (read_csv / read_parquet) into
/// a table of the new catalog. The SQL is the platform's own, never a user's; file access is what it is
/// for, and the sandbox limits it to the source (read-only) and the new file's folder.
/// </summary>
public static class CatalogBuilder
{
    public const string Csv = "csv";

    public const string Parquet = "parquet";

    /// <summary>Builds the table and returns its row count.</summary>
    /// <param name="progress">Told how far the import is every few seconds (a large file takes minutes).</param>
    public static long Build(WorkerRequest request, WorkerCatalogBuild build, Action<string>? progress = null, TimeSpan? progressInterval = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(build);
        var source = request.ContextPath ?? throw new ArgumentException("The request names no source file.", nameof(request));
        var reader = build.Format switch
        {
            // The delimiter is given, or DuckDB's sniffer picks another one that makes a ragged file "fit";
            // strict: a line with more or fewer values than the header is an error, not padded or skipped.
            Csv => $"read_csv('{Sql.Literal(source)}', header = true, delim = '{(source.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) ? "\t" : ",")}', " +
                "strict_mode = true, null_padding = false, ignore_errors = false)",
            Parquet => $"read_parquet('{Sql.Literal(source)}')",
            _ => throw new ArgumentException($"Unknown format '{build.Format}'.", nameof(build)),
        };
        using var db = new DuckDBConnection($"Data Source={request.MyDbPath}");
        db.Open();
        Execute(db, "SET autoinstall_known_extensions = false");
        Execute(db, "SET autoload_known_extensions = false");
        Execute(db, "SET allow_community_extensions = false");
        Execute(db, $"SET memory_limit = '{Sql.Literal(request.MemoryLimit)}'");
        Execute(db, $"SET threads = {request.Threads.ToString(CultureInfo.InvariantCulture)}");
        // A table with ra and dec gets its sky index: a HEALPix column, and the rows ordered by it (Sky/SkyCatalogIndex.cs).
        var folder = Path.GetDirectoryName(Path.GetFullPath(request.MyDbPath))!;
        var create = Sky.SkyCatalogIndex.CreateTableSql(db, build.Table, reader, folder);
        using (progress is null ? null : Sky.SkyImportProgress.Start(db, build.Table, progress, progressInterval ?? TimeSpan.FromSeconds(2)))
        {
            Execute(db, create);
        }

        Execute(db, "SET enable_external_access = false");
        long rows;
        using (var count = db.CreateCommand())
        {
            count.CommandText = $"SELECT count(*) FROM {Sql.Identifier(build.Table)}";
            rows = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        Execute(db, "CHECKPOINT");
        return rows;
    }

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
