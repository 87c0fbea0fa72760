using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using OpenSciServer.Astro;

namespace OpenSciServer.CasJobs;

/// <summary>
/// Command-line tools for operators and benchmarks (<c>OpenSciServer catalog ...</c>), run without the web host:
/// <list type="bullet">
/// <item><c>catalog generate PATH ROWS</c> builds the synthetic demo catalogue of any size (1e7, 1e8 for benchmarks);</item>
/// <item><c>catalog export PATH OUT</c> writes a generated catalogue's table as Parquet or CSV (by OUT's extension), without its HEALPix
/// column and in generation order (random on the sky), the input an import benchmark (bench/import.sh) gives the platform;</item>
/// <item><c>catalog time PATH THREADS REPEATS SQL</c> runs SQL in-process on a DuckDB file, the reference a query through the platform is measured against.</item>
/// <item><c>catalog sky-time PATH THREADS POSITIONS RADIUS SQL</c> the same for a cone at many positions, with the sky functions and index (Sky/SkyBench.cs).</item>
/// </list>
/// </summary>
public static class CatalogCommands
{
    public const string Verb = "catalog";

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        switch (args)
        {
            case ["generate", var path, var rows] when long.TryParse(rows, CultureInfo.InvariantCulture, out var count) && count >= 0:
                if (File.Exists(path))
                {
                    output.WriteLine($"{path} exists; remove it first.");
                    return 2;
                }

                var watch = Stopwatch.StartNew();
                DemoCatalog.Generate(path, count, (ra, dec) => Healpix.Ang2Pix(CasJobsSetup.IndexOrder, ra, dec),
                    progress: new PrintedProgress(output, watch), indexOrder: CasJobsSetup.IndexOrder);
                output.WriteLine($"{count:N0} rows in {path} after {watch.Elapsed.TotalSeconds:0.0} s");
                return 0;
            case ["export", var path, var target] when target.EndsWith(".parquet", StringComparison.Ordinal) || target.EndsWith(".csv", StringComparison.Ordinal):
                return Export(path, target, output);
            case ["time", var path, var threadsText, var repeatsText, var sql]
                when int.TryParse(threadsText, CultureInfo.InvariantCulture, out var threads) && int.TryParse(repeatsText, CultureInfo.InvariantCulture, out var repeats):
                return Time(path, threads, repeats, sql, output);
            case ["sky-time", var path, var threadsText, var positions, var radius, var sql] when int.TryParse(threadsText, CultureInfo.InvariantCulture, out var threads):
                return Sky.SkyBench.Time(path, threads, positions, radius, sql, output);
            default:
                output.WriteLine("usage: OpenSciServer catalog generate PATH ROWS | catalog export PATH OUT.parquet|OUT.csv | catalog time PATH THREADS REPEATS SQL | catalog sky-time PATH THREADS POSITIONS RADIUS SQL");
                return 2;
        }
    }

    private static int Export(string path, string target, TextWriter output)
    {
        if (File.Exists(target))
        {
            output.WriteLine($"{target} exists; remove it first.");
            return 2;
        }

        var watch = Stopwatch.StartNew();
        using var connection = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        connection.Open();
        using var command = connection.CreateCommand();
        var format = target.EndsWith(".csv", StringComparison.Ordinal) ? "FORMAT csv, HEADER" : "FORMAT parquet";
        // The order the sources were drawn in (ids), so an import has to sort them by position itself.
        command.CommandText = $"COPY (SELECT * EXCLUDE (healpix) FROM {DemoCatalog.TableName} ORDER BY id) TO '{Engines.Sql.Literal(target)}' ({format})";
        command.ExecuteNonQuery();
        output.WriteLine($"{target}: {new FileInfo(target).Length:N0} bytes after {watch.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    /// <summary>Prints one line per run, in milliseconds, after one warm-up run (the file then sits in the page cache, as it does for the platform).</summary>
    private static int Time(string path, int threads, int repeats, string sql, TextWriter output)
    {
        using var connection = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        connection.Open();
        using (var set = connection.CreateCommand())
        {
            set.CommandText = $"SET threads = {threads}";
            set.ExecuteNonQuery();
        }

        for (var i = -1; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
            }

            if (i >= 0)
            {
                output.WriteLine(watch.Elapsed.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture));
            }
        }

        return 0;
    }

    /// <summary>Prints every tenth of the way, on the generating thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class PrintedProgress(TextWriter output, Stopwatch watch) : IProgress<double>
    {
        private int _printed = -1;

        public void Report(double value)
        {
            var tenth = (int)(value * 10);
            if (tenth > _printed)
            {
                _printed = tenth;
                output.WriteLine($"{tenth * 10,3} % after {watch.Elapsed.TotalSeconds:0.0} s");
            }
        }
    }
}
