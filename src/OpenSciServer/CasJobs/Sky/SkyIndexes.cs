using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// The sky-indexed tables of each catalog file, read once by a worker (the platform never opens a DuckDB file itself)
/// and kept while the file's size and modification time stay the same, like the catalog schemas. The translator needs
/// them to know which tables a cone may be read through the index of.
/// </summary>
public sealed class SkyIndexes(QueryRunner runner, IOptions<CasJobsOptions> options)
{
    private const int MaxEntries = 1000;

    private readonly ConcurrentDictionary<string, (string Version, SkyCatalog Sky)> _entries = new(StringComparer.Ordinal);

    /// <summary>The sky tables of the catalog at <paramref name="contextPath"/>; <see cref="SkyCatalog.None"/> for MyDB (null).</summary>
    public async Task<SkyCatalog> ForAsync(string? contextPath, CancellationToken ct)
    {
        // MyDB has no sky index; a PostgreSQL catalog maps the sky functions onto q3c itself.
        if (contextPath is null || Engines.Postgres.PostgresLocation.IsPostgres(contextPath))
        {
            return SkyCatalog.None;
        }

        var file = new FileInfo(contextPath);
        var version = file.Exists ? $"{file.Length}/{file.LastWriteTimeUtc.Ticks}" : "";
        if (_entries.TryGetValue(contextPath, out var known) && known.Version == version)
        {
            return known.Sky;
        }

        var o = options.Value;
        var request = new WorkerRequest(DuckDbSandbox.InMemory, contextPath, o.MemoryLimit, o.Threads, 1_000_000,
            [new WorkerStatement(SkyFunctions.ColumnsSql, true)]);
        var outcome = await runner.RunAsync(request, o.QuickQueryTimeout, ct);
        var sky = SkyFunctions.Read(outcome.ResultSets[0].Rows.Select(r =>
            (r[0].GetString()!, r[1].GetString()!, r[2].GetString()!, r[3].ValueKind == System.Text.Json.JsonValueKind.Null ? null : r[3].GetString())));
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[contextPath] = (version, sky);
        return sky;
    }
}
