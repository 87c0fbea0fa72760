using System.Collections.Concurrent;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>The tables and columns of a catalog file as a worker read them.</summary>
public sealed record Schema(IReadOnlyList<TableInfo> Tables, IReadOnlyList<SchemaColumn> Columns);

public sealed record SchemaColumn(string Table, string Name, string Type);

/// <summary>
/// Catalog schemas by file path and version (size and modification time): a catalog file changes
/// rarely, and reading one takes a worker process. A changed file has a new version and is read again.
/// </summary>
public sealed class CatalogSchemaCache
{
    private const int MaxEntries = 1000;

    private readonly ConcurrentDictionary<string, (string Version, Schema Schema)> _entries = new(StringComparer.Ordinal);

    public Schema? TryGet(string path, string version) =>
        _entries.TryGetValue(path, out var entry) && entry.Version == version ? entry.Schema : null;

    public void Set(string path, string version, Schema schema)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[path] = (version, schema);
    }
}
