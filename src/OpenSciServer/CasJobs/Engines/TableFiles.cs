using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using OpenSciServer.Astro.Fits;
using OpenSciServer.Astro.VoTable;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// Reads files into MyDB tables and writes tables to files, inside a worker. The file is the one the sandbox
/// mounts; every statement here is written by the platform, with the table name quoted. CSV and FITS are read
/// in .NET (a ragged CSV row is reported with its line, before anything is written); Parquet by DuckDB.
/// A new table is created and filled in one transaction, so a failure leaves nothing behind.
/// </summary>
public static class TableFiles
{
    public static long Import(DuckDBConnection db, string table, string format, string file, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        var target = Target(table);
        return format switch
        {
            TableFormats.Csv => ImportCsv(db, table, file, ct),
            TableFormats.Parquet => InTransaction(db, () =>
            {
                MyDbSession.Execute(db, $"CREATE TABLE {target} AS SELECT * FROM read_parquet('{Sql.Literal(file)}')");
                return Count(db, target);
            }),
            TableFormats.Fits => ImportFits(db, DuckDbSandbox.MyDbCatalog, table, file),
            _ => throw new InvalidDataException($"Files in '{format}' cannot be imported; use {string.Join(", ", TableFormats.Importable)}."),
        };
    }

    public static async Task<long> ExportAsync(DuckDBConnection db, string table, string format, string file, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        var source = $"{DuckDbSandbox.MyDbCatalog}.main.{Sql.Identifier(table)}";
        switch (format)
        {
            case TableFormats.Csv:
                // Nested values (STRUCT, LIST, MAP, ...) as their JSON text, as in query results, rather than DuckDB's own text.
                MyDbSession.Execute(db, $"COPY (SELECT {FileColumns(db, source)} FROM {source}) TO '{Sql.Literal(file)}' (FORMAT csv, HEADER true, USE_TMP_FILE false)");
                return Count(db, source);
            case TableFormats.Parquet:
                MyDbSession.Execute(db, $"COPY {source} TO '{Sql.Literal(file)}' (FORMAT parquet, USE_TMP_FILE false)");
                return Count(db, source);
            case TableFormats.Fits:
                return await ExportFitsAsync(db, source, table, file, ct);
            case TableFormats.VoTable or TableFormats.VoTableBinary2:
                return await ExportVoTableAsync(db, source, table, file,
                    format == TableFormats.VoTable ? VoTableSerialization.TableData : VoTableSerialization.Binary2, ct);
            default:
                throw new InvalidDataException($"Tables cannot be exported as '{format}'; use {string.Join(", ", TableFormats.Exportable)}.");
        }
    }

    /// <summary>A quick query's result (values as JSON) as a Parquet file, written by DuckDB from an in-memory table.</summary>
    public static long ConvertToParquet(DuckDBConnection db, WorkerUpload rows, string file)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(rows);
        var kinds = rows.Types.Select(ColumnKinds.Of).ToList();
        var names = Unique(rows.Columns);
        MyDbSession.Execute(db, $"CREATE TABLE result ({string.Join(", ", names.Select((c, i) => $"{Sql.Identifier(c)} {ColumnKinds.SqlType(kinds[i])}"))})");
        using (var appender = db.CreateAppender("result"))
        {
            foreach (var values in rows.Rows)
            {
                var row = appender.CreateRow();
                for (var i = 0; i < values.Length; i++)
                {
                    row = Append(row, ColumnKinds.FromJson(values[i], kinds[i]));
                }

                row.EndRow();
            }
        }

        MyDbSession.Execute(db, $"COPY result TO '{Sql.Literal(file)}' (FORMAT parquet, USE_TMP_FILE false)");
        return rows.Rows.Count;
    }

    private static long ImportCsv(DuckDBConnection db, string table, string file, CancellationToken ct)
    {
        var target = Target(table);
        // First pass: the header, the shape of every row and each column's type; nothing is written yet.
        List<string>? header = null;
        var types = new List<string>();
        long rows = 0;
        using (var reader = new StreamReader(file, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
        {
            foreach (var (line, fields) in CsvRecords.Read(reader))
            {
                if (header is null)
                {
                    header = CsvTable.Header(fields) ?? throw new InvalidDataException("Every column needs a distinct, non-empty name in the header line.");
                    types = header.Select(_ => "BIGINT").ToList();
                    continue;
                }

                if (fields.Count == 1 && fields[0].Length == 0)
                {
                    continue; // a blank line
                }

                if (fields.Count != header.Count)
                {
                    throw new InvalidDataException($"Line {line} has {fields.Count} values, but the header names {header.Count} columns.");
                }

                for (var i = 0; i < fields.Count; i++)
                {
                    types[i] = CsvTable.Widen(types[i], fields[i].Length == 0 ? null : fields[i]);
                }

                rows++;
                if (rows % 100_000 == 0)
                {
                    ct.ThrowIfCancellationRequested();
                }
            }
        }

        if (header is null)
        {
            throw new InvalidDataException("The CSV is empty: the first line must name the columns.");
        }

        return InTransaction(db, () =>
        {
            MyDbSession.Execute(db, $"CREATE TABLE {target} ({string.Join(", ", header.Select((c, i) => $"{Sql.Identifier(c)} {types[i]}"))})");
            using var reader = new StreamReader(file, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            using (var appender = db.CreateAppender(DuckDbSandbox.MyDbCatalog, "main", table))
            {
                foreach (var (_, fields) in CsvRecords.Read(reader).Skip(1))
                {
                    if (fields.Count == 1 && fields[0].Length == 0)
                    {
                        continue;
                    }

                    var row = appender.CreateRow();
                    for (var i = 0; i < fields.Count; i++)
                    {
                        row = Append(row, CsvTable.Convert(fields[i].Length == 0 ? null : fields[i], types[i]));
                    }

                    row.EndRow();
                }
            }

            return rows;
        });
    }

    /// <summary>
    /// Reads a FITS binary table into a new table of <paramref name="catalog"/> in one transaction; each
    /// column's TUNIT becomes the column's comment, which is where tables keep their units (exports
    /// write them back).
    /// </summary>
    public static long ImportFits(DuckDBConnection db, string catalog, string table, string file)
    {
        ArgumentNullException.ThrowIfNull(db);
        var target = $"{Sql.Identifier(catalog)}.main.{Sql.Identifier(table)}";
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var reader = FitsTableReader.Open(stream);
        if (reader.Columns.Count == 0)
        {
            throw new InvalidDataException("The FITS table has no columns.");
        }

        var names = reader.Columns.Select(c => c.Name).ToList();
        if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Count)
        {
            throw new InvalidDataException("The FITS table names two columns alike (TTYPE); a table needs distinct column names.");
        }

        return InTransaction(db, () =>
        {
            MyDbSession.Execute(db, $"CREATE TABLE {target} ({string.Join(", ", reader.Columns.Select(c => $"{Sql.Identifier(c.Name)} {SqlType(c.ValueType)}"))})");
            foreach (var column in reader.Columns.Where(c => !string.IsNullOrWhiteSpace(c.Unit)))
            {
                MyDbSession.Execute(db, $"COMMENT ON COLUMN {target}.{Sql.Identifier(column.Name)} IS '{Sql.Literal(column.Unit!.Trim())}'");
            }

            var values = new object?[reader.Columns.Count];
            long rows = 0;
            using (var appender = db.CreateAppender(catalog, "main", table))
            {
                while (reader.ReadRow(values))
                {
                    var row = appender.CreateRow();
                    foreach (var value in values)
                    {
                        row = Append(row, value);
                    }

                    row.EndRow();
                    rows++;
                }
            }

            return rows;
        });
    }

    private static async Task<long> ExportFitsAsync(DuckDBConnection db, string source, string table, string file, CancellationToken ct)
    {
        var (columns, rows) = Describe(db, source, table);
        // FITS text columns have a fixed width: a first pass finds the widest value of each.
        var widths = new int[columns.Count];
        var text = columns.Select((c, i) => (c, i)).Where(x => x.c.Kind == ColumnKind.Text).Select(x => x.i).ToList();
        if (text.Count > 0)
        {
            using var command = db.CreateCommand();
            command.CommandText = $"SELECT {FileColumns(db, source)} FROM {source}";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                foreach (var i in text)
                {
                    if (!reader.IsDBNull(i))
                    {
                        widths[i] = Math.Max(widths[i], FitsText((string)ColumnKinds.FromEngine(ReadText(reader, i), ColumnKind.Text)!).Length);
                    }
                }
            }
        }

        var fitsColumns = columns.Select((c, i) => new FitsColumn(Shorten(FitsText(c.Name), 68), ColumnKinds.FitsType(c.Kind), c.Unit is null ? null : Shorten(FitsText(c.Unit), 68),
            StringWidth: c.Kind == ColumnKind.Text ? Math.Max(1, widths[i]) : 0)).ToList();
        await using var output = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var writer = new FitsTableWriter(output, fitsColumns, rows, extensionName: Shorten(FitsText(table).ToUpperInvariant(), 68));
        await ForEachRowAsync(db, source, columns, async values =>
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is string s)
                {
                    values[i] = FitsText(s);
                }
            }

            await writer.WriteRowAsync(values, ct);
        });
        await writer.CompleteAsync(ct);
        return rows;
    }

    private static async Task<long> ExportVoTableAsync(DuckDBConnection db, string source, string table, string file, VoTableSerialization serialization, CancellationToken ct)
    {
        var (columns, rows) = Describe(db, source, table);
        await using var output = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        await using var writer = new VoTableWriter(output, columns.Select(c => new VoTableColumn(c.Name, ColumnKinds.VoTableType(c.Kind), c.Unit)).ToList(), serialization, table);
        await ForEachRowAsync(db, source, columns, values => writer.WriteRowAsync(values, ct));
        await writer.CompleteAsync(ct);
        return rows;
    }

    private static (List<TableFileColumn> Columns, long Rows) Describe(DuckDBConnection db, string source, string table)
    {
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT {FileColumns(db, source)} FROM {source} LIMIT 0";
        using var reader = command.ExecuteReader();
        var units = Units(db, table);
        var columns = Enumerable.Range(0, reader.FieldCount)
            .Select(i => new TableFileColumn(reader.GetName(i), ColumnKinds.Of(JsonValues.TypeName(reader, i)), units.GetValueOrDefault(reader.GetName(i)))).ToList();
        return (columns, Count(db, source));
    }

    private static async Task ForEachRowAsync(DuckDBConnection db, string source, List<TableFileColumn> columns, Func<object?[], ValueTask> write)
    {
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT {FileColumns(db, source)} FROM {source}";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var values = new object?[columns.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = reader.IsDBNull(i) ? null : ColumnKinds.FromEngine(columns[i].Kind == ColumnKind.Text ? ReadText(reader, i) : reader.GetValue(i), columns[i].Kind);
            }

            await write(values);
        }
    }

    // A value of a text column in a file: read as for JSON (intervals of months, infinite dates, wide decimals), then as its text.
    private static string? ReadText(DuckDBDataReader reader, int i)
    {
        try
        {
            return JsonValues.Read(reader, i, JsonValues.TypeName(reader, i)) is { } value ? JsonValues.Text(value) : null;
        }
        catch (WorkerRefusalException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    // The columns of a table for a file: nested ones (STRUCT, LIST, MAP, ...) as their JSON text (to_json), the others as they are.
    private static string FileColumns(DuckDBConnection db, string source)
    {
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT * FROM {source} LIMIT 0";
        using var reader = command.ExecuteReader();
        return string.Join(", ", Enumerable.Range(0, reader.FieldCount).Select(i =>
        {
            var name = Sql.Identifier(reader.GetName(i));
            return JsonValues.TypeName(reader, i) is "Struct" or "List" or "Array" or "Map" or "Union" ? $"to_json({name}) AS {name}" : name;
        }));
    }

    /// <summary>The units of a MyDB table's columns: their comments (set by a FITS import, or by the user with COMMENT ON COLUMN).</summary>
    public static Dictionary<string, string> Units(DuckDBConnection db, string table)
    {
        ArgumentNullException.ThrowIfNull(db);
        var units = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        using var command = db.CreateCommand();
        command.CommandText = "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = '" + DuckDbSandbox.MyDbCatalog +
            $"' AND schema_name = 'main' AND lower(table_name) = lower('{Sql.Literal(table)}') AND comment IS NOT NULL AND comment <> ''";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            units[reader.GetString(0)] = reader.GetString(1);
        }

        return units;
    }

    private static long Count(DuckDBConnection db, string table)
    {
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static long InTransaction(DuckDBConnection db, Func<long> work)
    {
        MyDbSession.Execute(db, "BEGIN TRANSACTION");
        try
        {
            var result = work();
            MyDbSession.Execute(db, "COMMIT");
            return result;
        }
        catch
        {
            MyDbSession.Execute(db, "ROLLBACK");
            throw;
        }
    }

    private static string SqlType(Type type) =>
        type == typeof(long) ? "BIGINT"
        : type == typeof(int) ? "INTEGER"
        : type == typeof(short) ? "SMALLINT"
        : type == typeof(byte) ? "UTINYINT"
        : type == typeof(sbyte) ? "TINYINT"
        : type == typeof(ushort) ? "USMALLINT"
        : type == typeof(uint) ? "UINTEGER"
        : type == typeof(ulong) ? "UBIGINT"
        : type == typeof(float) ? "FLOAT"
        : type == typeof(double) ? "DOUBLE"
        : type == typeof(bool) ? "BOOLEAN"
        : "VARCHAR";

    private static IDuckDBAppenderRow Append(IDuckDBAppenderRow row, object? value) => value switch
    {
        null => row.AppendNullValue(),
        long v => row.AppendValue(v),
        int v => row.AppendValue(v),
        short v => row.AppendValue(v),
        byte v => row.AppendValue(v),
        sbyte v => row.AppendValue(v),
        ushort v => row.AppendValue(v),
        uint v => row.AppendValue(v),
        ulong v => row.AppendValue(v),
        float v => row.AppendValue(v),
        double v => row.AppendValue(v),
        bool v => row.AppendValue(v),
        string v => row.AppendValue(v),
        _ => row.AppendValue(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };

    private static string Target(string table) => $"{DuckDbSandbox.MyDbCatalog}.main.{Sql.Identifier(table)}";

    private static List<string> Unique(IReadOnlyList<string> names)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var result = new List<string>();
        foreach (var name in names)
        {
            var candidate = name.Length == 0 ? "column" : name;
            for (var n = 2; !seen.Add(candidate); n++)
            {
                candidate = $"{name}_{n}";
            }

            result.Add(candidate);
        }

        return result;
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..length];

    // FITS text is printable ASCII; anything else becomes '?', so an export never fails on a name or a value.
    private static string FitsText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return sb.ToString();
    }

}
