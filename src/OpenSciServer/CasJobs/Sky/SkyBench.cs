using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.TSql;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// The in-process reference for bench/sky.sh (<c>OpenSciServer catalog sky-time PATH THREADS POSITIONS RADIUS_DEG SQL</c>):
/// the cone SQL at each position of a file (one "ra dec" per line), translated as the platform translates it (so through
/// the index) and run on one DuckDB session with the sky functions, as a warm worker runs it; one line per position in
/// milliseconds, after a warm-up run. <c>{ra}</c>, <c>{dec}</c> and <c>{r}</c> in the SQL are replaced by the position and radius.
/// </summary>
public static class SkyBench
{
    public static int Time(string path, int threads, string positions, string radius, string sql, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var db = DuckDbSandbox.Open(DuckDbSandbox.InMemory, path, new DuckDbLimits("2GiB", threads));
        var sky = Read(db);
        var lines = File.ReadAllLines(positions).Where(l => l.Trim().Length > 0).ToList();
        for (var i = -1; i < lines.Count; i++)
        {
            var parts = lines[Math.Max(i, 0)].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var text = sql.Replace("{ra}", parts[0], StringComparison.Ordinal).Replace("{dec}", parts[1], StringComparison.Ordinal)
                .Replace("{r}", radius, StringComparison.Ordinal);
            var watch = Stopwatch.StartNew();
            foreach (var statement in TSqlTranslator.Translate(text, sky).Statements)
            {
                using var command = db.CreateCommand();
                command.CommandText = statement.Sql;
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                }
            }

            if (i >= 0)
            {
                output.WriteLine(watch.Elapsed.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture));
            }
        }

        return 0;
    }

    private static SkyCatalog Read(DuckDBConnection db)
    {
        var columns = new List<(string, string, string, string?)>();
        using var command = db.CreateCommand();
        command.CommandText = SkyFunctions.ColumnsSql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return SkyFunctions.Read(columns);
    }
}
