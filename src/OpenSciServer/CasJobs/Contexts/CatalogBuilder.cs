using System.Globalization;
using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>
/// Asks a query worker to build a new catalog: the request's main database is the new DuckDB file (in a
/// fresh folder of its own), its <see cref="WorkerRequest.ContextPath"/> the table file to import, which
/// is the only other file the sandbox shows. <paramref name="Format"/> is "csv", "parquet" or "fits".
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

    public const string Fits = "fits";

    /// <summary>The result set a build writes before "done": each column's unit, where the source gives one (FITS TUNIT).</summary>
    public static readonly IReadOnlyList<WorkerColumn> UnitColumns = [new("column", "Varchar"), new("unit", "Varchar")];

    /// <summary>Builds the table; returns its row count and the units its columns have (FITS: TUNIT, kept as column comments too).</summary>
    /// <param name="progress">Told how far the import is every few seconds (a large file takes minutes).</param>
    public static (long Rows, IReadOnlyDictionary<string, string> Units) Build(WorkerRequest request, WorkerCatalogBuild build, Action<string>? progress = null, TimeSpan? progressInterval = null)
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
            Fits => null,
            _ => throw new ArgumentException($"Unknown format '{build.Format}'.", nameof(build)),
        };
        using var db = new DuckDBConnection($"Data Source={request.MyDbPath}");
        db.Open();
        Execute(db, "SET autoinstall_known_extensions = false");
        Execute(db, "SET autoload_known_extensions = false");
        Execute(db, "SET allow_community_extensions = false");
        Execute(db, $"SET memory_limit = '{Sql.Literal(request.MemoryLimit)}'");
        Execute(db, $"SET threads = {request.Threads.ToString(CultureInfo.InvariantCulture)}");
        var units = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? staging = null;
        // From the first byte read to the checkpoint: the log's lines, and the progress file the platform shows (Sky/SkyImportProgress.cs).
        using var tracker = Sky.SkyImportProgress.Start(db, build.Table, progress, progressInterval ?? TimeSpan.FromSeconds(2), source, request.MyDbPath,
            rowCountFromDuckDb: build.Format == Parquet);
        if (reader is null)
        {
            // FITS is read in .NET (DuckDB has no reader for it) into a staging table; the catalog's own name is the file's.
            var catalog = Path.GetFileNameWithoutExtension(request.MyDbPath);
            staging = "oss_fits_import_" + Guid.NewGuid().ToString("N")[..8];
            TableFiles.ImportFits(db, catalog, staging, source);
            using var comments = db.CreateCommand();
            comments.CommandText = $"SELECT column_name, comment FROM duckdb_columns() WHERE database_name = '{Sql.Literal(catalog)}' AND table_name = '{staging}' AND comment IS NOT NULL AND comment <> ''";
            using (var read = comments.ExecuteReader())
            {
                while (read.Read())
                {
                    units[read.GetString(0)] = read.GetString(1);
                }
            }

            reader = Sql.Identifier(staging);
        }

        // A table with ra and dec gets its sky index: a HEALPix column, and the rows ordered by it (Sky/SkyCatalogIndex.cs).
        var folder = Path.GetDirectoryName(Path.GetFullPath(request.MyDbPath))!;
        var create = Sky.SkyCatalogIndex.CreateTableSql(db, build.Table, reader, folder, tracker.IndexedRows);
        Execute(db, create);
        tracker.NowWriting();

        if (staging is not null)
        {
            Execute(db, $"DROP TABLE {Sql.Identifier(staging)}");
            foreach (var (column, unit) in units)
            {
                Execute(db, $"COMMENT ON COLUMN {Sql.Identifier(build.Table)}.{Sql.Identifier(column)} IS '{Sql.Literal(unit)}'");
            }
        }

        Execute(db, "SET enable_external_access = false");
        long rows;
        using (var count = db.CreateCommand())
        {
            count.CommandText = $"SELECT count(*) FROM {Sql.Identifier(build.Table)}";
            rows = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        Execute(db, "CHECKPOINT");
        tracker.Dispose();
        return (rows, units);
    }

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
