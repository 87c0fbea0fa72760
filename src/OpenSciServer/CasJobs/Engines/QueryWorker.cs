using System.Text.Json;
using System.Text.Json.Serialization;
using DuckDB.NET.Data;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>What the platform asks a query worker to run.</summary>
public sealed record WorkerRequest(
    string MyDbPath,
    string? ContextPath,
    string MemoryLimit,
    int Threads,
    long MaxRows,
    IReadOnlyList<WorkerStatement> Statements,
    int DeadlineSeconds = 3600,
    WorkerUpload? Upload = null,
    Contexts.WorkerCatalogBuild? CatalogBuild = null);

/// <summary>Rows the platform parsed (a CSV upload) for the worker to store as a new MyDB table.</summary>
public sealed record WorkerUpload(string Table, IReadOnlyList<string> Columns, IReadOnlyList<string> Types, IReadOnlyList<JsonElement[]> Rows);

public sealed record WorkerStatement(string Sql, bool ReturnsRows);

/// <summary>One line the worker writes back: a result set's columns, rows, its end, a statement done, or an error.</summary>
public sealed record WorkerMessage(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("statement")] int Statement,
    [property: JsonPropertyName("columns")] IReadOnlyList<WorkerColumn>? Columns = null,
    [property: JsonPropertyName("rows")] IReadOnlyList<object?[]>? Rows = null,
    [property: JsonPropertyName("count")] long? Count = null,
    [property: JsonPropertyName("truncated")] bool? Truncated = null,
    [property: JsonPropertyName("message")] string? Message = null);

public sealed record WorkerColumn([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("type")] string Type);

/// <summary>
/// The query worker: the same binary started as <c>OpenSciServer query-worker</c> inside a sandbox. It
/// reads one request on stdin, runs its statements on a <see cref="DuckDbSandbox"/> connection and writes
/// JSON lines on stdout. User SQL never runs in the web process; a worker that runs too long is killed.
/// </summary>
public static class QueryWorker
{
    public const string Verb = "query-worker";

    private const int Batch = 1000;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static async Task<int> RunAsync(Stream input, Stream output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        await using var writer = new StreamWriter(output) { AutoFlush = false };
        var request = await JsonSerializer.DeserializeAsync<WorkerRequest>(input, Json);
        if (request is null)
        {
            await WriteAsync(writer, new WorkerMessage("error", -1, Message: "The worker got no request."));
            return 2;
        }

        // However the platform fares, a worker never outlives its deadline.
        _ = Task.Delay(TimeSpan.FromSeconds(Math.Max(1, request.DeadlineSeconds))).ContinueWith(_ => Environment.Exit(3), TaskScheduler.Default);
        var index = 0;
        try
        {
            if (request.CatalogBuild is { } build)
            {
                // An admin's import of a table file into a new catalog: platform SQL only, no user SQL.
                await WriteAsync(writer, new WorkerMessage("done", 0, Count: Contexts.CatalogBuilder.Build(request, build)));
                return 0;
            }

            using var db = DuckDbSandbox.Open(request.MyDbPath, request.ContextPath, new DuckDbLimits(request.MemoryLimit, request.Threads));
            if (request.Upload is { } upload)
            {
                await StoreUploadAsync(db, upload, writer);
            }

            for (; index < request.Statements.Count; index++)
            {
                await RunStatementAsync(db, request, index, writer);
            }

            return 0;
        }
        catch (DuckDBException e)
        {
            await WriteAsync(writer, new WorkerMessage("error", index, Message: e.Message));
            return 1;
        }
        finally
        {
            await writer.FlushAsync();
        }
    }

    private static async Task RunStatementAsync(DuckDBConnection db, WorkerRequest request, int index, StreamWriter writer)
    {
        var statement = request.Statements[index];
        using var command = db.CreateCommand();
        command.CommandText = statement.Sql;
        if (!statement.ReturnsRows)
        {
            var affected = command.ExecuteNonQuery();
            await WriteAsync(writer, new WorkerMessage("done", index, Count: affected));
            return;
        }

        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(i => new WorkerColumn(reader.GetName(i), reader.GetDataTypeName(i))).ToList();
        await WriteAsync(writer, new WorkerMessage("columns", index, Columns: columns));
        var rows = new List<object?[]>(Batch);
        long count = 0;
        var truncated = false;
        while (reader.Read())
        {
            if (count >= request.MaxRows)
            {
                truncated = true;
                break;
            }

            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : ToJsonValue(reader.GetValue(i));
            }

            rows.Add(row);
            count++;
            if (rows.Count == Batch)
            {
                await WriteAsync(writer, new WorkerMessage("rows", index, Rows: rows));
                rows = new List<object?[]>(Batch);
            }
        }

        if (rows.Count > 0)
        {
            await WriteAsync(writer, new WorkerMessage("rows", index, Rows: rows));
        }

        await WriteAsync(writer, new WorkerMessage("end", index, Count: count, Truncated: truncated));
    }

    private static async Task StoreUploadAsync(DuckDBConnection db, WorkerUpload upload, StreamWriter writer)
    {
        static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        using (var create = db.CreateCommand())
        {
            create.CommandText = $"CREATE TABLE {Quote(upload.Table)} ({string.Join(", ", upload.Columns.Select((c, i) => $"{Quote(c)} {upload.Types[i]}"))})";
            create.ExecuteNonQuery();
        }

        using (var appender = db.CreateAppender(upload.Table))
        {
            foreach (var values in upload.Rows)
            {
                var row = appender.CreateRow();
                for (var i = 0; i < values.Length; i++)
                {
                    var v = values[i];
                    row = v.ValueKind == JsonValueKind.Null ? row.AppendNullValue()
                        : upload.Types[i] switch
                        {
                            "BIGINT" => row.AppendValue(v.GetInt64()),
                            "DOUBLE" => row.AppendValue(v.GetDouble()),
                            _ => row.AppendValue(v.GetString()),
                        };
                }

                row.EndRow();
            }
        }

        await WriteAsync(writer, new WorkerMessage("done", -1, Count: upload.Rows.Count));
    }

    // Values JSON can carry as they are; the rest as text a person can read.
    private static object? ToJsonValue(object value) => value switch
    {
        double or float or int or long or short or byte or sbyte or ushort or uint or bool or string or decimal => value,
        ulong u => u <= long.MaxValue ? (long)u : u.ToString(System.Globalization.CultureInfo.InvariantCulture),
        System.Numerics.BigInteger b => b.ToString(System.Globalization.CultureInfo.InvariantCulture),
        DateTime d => d.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToBase64String(bytes),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task WriteAsync(StreamWriter writer, WorkerMessage message)
    {
        await writer.WriteLineAsync(JsonSerializer.Serialize(message, Json));
        await writer.FlushAsync();
    }
}
