using System.Globalization;
using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// The worker's MyDB operations (<see cref="WorkerMyDbOperation"/>): listing with sizes and dates, rename, drop,
/// import, export and the Parquet conversion of a quick result. No user SQL runs in such a worker; the one file an
/// import or export touches is the only path DuckDB may open (allowed_paths), and the sandbox mounts no other.
/// Each answers with result sets on the usual protocol; expected refusals (no such table, the name is taken) are a
/// status row, anything else an error message.
/// </summary>
public static class MyDbWorker
{
    /// <summary>Columns of the status row every changing operation answers with.</summary>
    public static readonly IReadOnlyList<WorkerColumn> StatusColumns =
        [new("status", "Varchar"), new("table", "Varchar"), new("detail", "Varchar"), new("rows", "BigInt")];

    public static readonly IReadOnlyList<WorkerColumn> TableColumns =
        [new("name", "Varchar"), new("rows", "BigInt"), new("columns", "BigInt"), new("sizeBytes", "BigInt"), new("createdAt", "Varchar")];

    public static readonly IReadOnlyList<WorkerColumn> SchemaColumns = [new("name", "Varchar"), new("type", "Varchar"), new("unit", "Varchar")];

    public static async Task<int> RunAsync(WorkerRequest request, WorkerMyDbOperation operation, StreamWriter writer)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(writer);
        try
        {
            var convert = operation.Kind == MyDbOperations.Convert;
            var open = convert ? request with { MyDbPath = ":memory:", ContextPath = null, MyDb = request.MyDb! with { Shared = null } } : request with { ContextPath = null };
            using var db = await MyDbSession.OpenAsync(open, operation.File is { } file ? [file] : null);
            switch (operation.Kind)
            {
                case MyDbOperations.List:
                    MyDbSession.Stamp(db, request);
                    await ListAsync(db, request, operation.Table, writer);
                    return 0;
                case MyDbOperations.Convert:
                    var rows = TableFiles.ConvertToParquet(db, request.Upload ?? throw new InvalidDataException("Nothing to convert."), Required(operation.File));
                    await StatusAsync(writer, MyDbOperations.Ok, "result", "", rows);
                    return 0;
            }

            try
            {
                await ChangeAsync(db, request.MyDbPath, operation, writer);
            }
            finally
            {
                MyDbSession.Stamp(db, request);
            }

            return 0;
        }
        catch (Exception e) when (e is DuckDBException or InvalidDataException or IOException or ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            await QueryWorker.WriteAsync(writer, new WorkerMessage("error", 0, Message: e.Message));
            return 1;
        }
    }

    private static async Task ChangeAsync(DuckDBConnection db, string myDbPath, WorkerMyDbOperation operation, StreamWriter writer)
    {
        var tables = MyDbSession.TableNames(db, DuckDbSandbox.MyDbCatalog);
        var name = Required(operation.Table);
        var actual = tables.FirstOrDefault(t => string.Equals(t, name, StringComparison.OrdinalIgnoreCase));
        var table = $"{DuckDbSandbox.MyDbCatalog}.main.{Sql.Identifier(actual ?? name)}";
        if (operation.Kind == MyDbOperations.Import)
        {
            if (actual is not null)
            {
                await StatusAsync(writer, MyDbOperations.Exists, actual, $"There is a table '{actual}' in your MyDB already; drop or rename it, or import under another name.", 0);
                return;
            }

            var rows = TableFiles.Import(db, name, Required(operation.Format), Required(operation.File), CancellationToken.None);
            await StatusAsync(writer, MyDbOperations.Ok, name, "", rows);
            return;
        }

        if (actual is null)
        {
            await StatusAsync(writer, MyDbOperations.Missing, name, $"There is no table '{name}' in your MyDB.", 0);
            return;
        }

        switch (operation.Kind)
        {
            case MyDbOperations.Rename:
                var newName = Required(operation.NewName);
                if (tables.FirstOrDefault(t => string.Equals(t, newName, StringComparison.OrdinalIgnoreCase) && !string.Equals(t, actual, StringComparison.Ordinal)) is { } taken)
                {
                    await StatusAsync(writer, MyDbOperations.Exists, actual, $"There is a table '{taken}' in your MyDB already.", 0);
                    return;
                }

                MyDbSession.Execute(db, $"ALTER TABLE {table} RENAME TO {Sql.Identifier(newName)}");
                // The creation date goes with the table.
                var meta = MyDbMetadata.Read(myDbPath);
                if (meta.Tables.Remove(actual, out var created))
                {
                    meta.Tables[newName] = created;
                    meta.Write(myDbPath);
                }

                await StatusAsync(writer, MyDbOperations.Ok, actual, newName, 0);
                return;
            case MyDbOperations.Drop:
                MyDbSession.Execute(db, $"DROP TABLE {table}");
                await StatusAsync(writer, MyDbOperations.Ok, actual, "", 0);
                return;
            case MyDbOperations.Export:
                var exported = await TableFiles.ExportAsync(db, actual, Required(operation.Format), Required(operation.File), CancellationToken.None);
                await StatusAsync(writer, MyDbOperations.Ok, actual, "", exported);
                return;
            default:
                throw new InvalidDataException($"Unknown MyDB operation '{operation.Kind}'.");
        }
    }

    private static async Task ListAsync(DuckDBConnection db, WorkerRequest request, string? only, StreamWriter writer)
    {
        var meta = MyDbMetadata.Read(request.MyDbPath);
        var blockSize = 262_144L;
        using (var command = db.CreateCommand())
        {
            command.CommandText = $"SELECT block_size FROM pragma_database_size() WHERE database_name = '{DuckDbSandbox.MyDbCatalog}'";
            if (command.ExecuteScalar() is { } value and not DBNull)
            {
                blockSize = Convert.ToInt64(value, CultureInfo.InvariantCulture);
            }
        }

        var tables = new List<(string Name, long Rows, long Columns)>();
        using (var command = db.CreateCommand())
        {
            command.CommandText = $"SELECT table_name, estimated_size, column_count FROM duckdb_tables() WHERE database_name = '{DuckDbSandbox.MyDbCatalog}' AND schema_name = 'main' ORDER BY table_name";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var name = reader.GetString(0);
                if (only is null || string.Equals(name, only, StringComparison.OrdinalIgnoreCase))
                {
                    tables.Add((name, reader.GetInt64(1), reader.GetInt64(2)));
                }
            }
        }

        // Size: the 256 KiB blocks a table's columns are stored in; a block that small tables share is split between them.
        var blocks = new Dictionary<string, HashSet<long>>(StringComparer.Ordinal);
        foreach (var (name, _, _) in only is null ? tables : [.. tables, .. MyDbSession.TableNames(db, DuckDbSandbox.MyDbCatalog).Where(n => tables.All(t => t.Name != n)).Select(n => (n, 0L, 0L))])
        {
            var set = new HashSet<long>();
            using var command = db.CreateCommand();
            command.CommandText = $"SELECT block_id, additional_block_ids FROM pragma_storage_info('{Sql.Literal(Sql.Identifier(name))}') WHERE block_id >= 0";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                set.Add(reader.GetInt64(0));
                if (!reader.IsDBNull(1) && reader.GetValue(1) is IEnumerable<long> more)
                {
                    set.UnionWith(more);
                }
            }

            blocks[name] = set;
        }

        var owners = blocks.Values.SelectMany(b => b).GroupBy(b => b).ToDictionary(g => g.Key, g => g.Count());
        var rows = tables.Select(t => new object?[]
        {
            t.Name, t.Rows, t.Columns,
            (long)blocks[t.Name].Sum(b => (double)blockSize / owners[b]),
            meta.Tables.TryGetValue(t.Name, out var created) ? created.ToString("O", CultureInfo.InvariantCulture) : null,
        }).ToList();
        await SetAsync(writer, 0, TableColumns, rows);
        if (only is not null)
        {
            var columns = new List<object?[]>();
            using var command = db.CreateCommand();
            command.CommandText = $"SELECT column_name, data_type, nullif(comment, '') FROM duckdb_columns() WHERE database_name = '{DuckDbSandbox.MyDbCatalog}' AND schema_name = 'main' AND lower(table_name) = lower('{Sql.Literal(only)}') ORDER BY column_index";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                columns.Add([reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)]);
            }

            await SetAsync(writer, 1, SchemaColumns, columns);
        }
    }

    private static Task StatusAsync(StreamWriter writer, string status, string table, string detail, long rows) =>
        SetAsync(writer, 0, StatusColumns, [[status, table, detail, rows]]);

    private static async Task SetAsync(StreamWriter writer, int index, IReadOnlyList<WorkerColumn> columns, List<object?[]> rows)
    {
        await QueryWorker.WriteAsync(writer, new WorkerMessage("columns", index, Columns: columns));
        if (rows.Count > 0)
        {
            await QueryWorker.WriteAsync(writer, new WorkerMessage("rows", index, Rows: rows));
        }

        await QueryWorker.WriteAsync(writer, new WorkerMessage("end", index, Count: rows.Count, Truncated: false));
    }

    private static string Required(string? value) => value ?? throw new InvalidDataException("The platform sent an incomplete MyDB operation.");
}
