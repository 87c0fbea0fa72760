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
    WorkerMyDb? MyDb = null,
    WorkerJob? Job = null,
    Contexts.WorkerCatalogBuild? CatalogBuild = null);

/// <summary>Rows the platform parsed (a CSV upload) for the worker to store as a new MyDB table.</summary>
public sealed record WorkerUpload(string Table, IReadOnlyList<string> Columns, IReadOnlyList<string> Types, IReadOnlyList<JsonElement[]> Rows);

/// <summary>A statement to run; <paramref name="Line"/> is the line of the user's text it starts on.</summary>
public sealed record WorkerStatement(string Sql, bool ReturnsRows, int Line = 1);

/// <summary>One line the worker writes back: a result set's columns, rows, its end, a statement done, an error, or the request finished.</summary>
public sealed record WorkerMessage(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("statement")] int Statement,
    [property: JsonPropertyName("columns")] IReadOnlyList<WorkerColumn>? Columns = null,
    [property: JsonPropertyName("rows")] IReadOnlyList<object?[]>? Rows = null,
    [property: JsonPropertyName("count")] long? Count = null,
    [property: JsonPropertyName("truncated")] bool? Truncated = null,
    [property: JsonPropertyName("message")] string? Message = null,
    [property: JsonPropertyName("table")] string? Table = null);

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

    /// <summary>
    /// Serves requests, one JSON line each, until stdin closes, writing a "finished" line after each.
    /// It keeps its database instance open between requests with the same set-up (so an idle worker
    /// holds its user's MyDB: the platform stops the user's idle workers before another process of
    /// theirs needs the file). The platform reuses a worker only for the same user and sandbox.
    /// </summary>
    public static async Task<int> RunAsync(Stream input, Stream output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        await using var writer = new StreamWriter(output) { AutoFlush = false };
        using var reader = new StreamReader(input);
        using var kept = new KeptInstance();
        Warm();
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var request = JsonSerializer.Deserialize<WorkerRequest>(line, Json);
            if (request is null)
            {
                await WriteAsync(writer, new WorkerMessage("error", -1, Message: "The worker got no request."));
                return 2;
            }

            // However the platform fares, a request never runs past its deadline: the process ends.
            using var deadline = new Timer(_ => Environment.Exit(3), null, TimeSpan.FromSeconds(Math.Max(1, request.DeadlineSeconds)), Timeout.InfiniteTimeSpan);
            await ServeAsync(request, kept, writer);
            await WriteAsync(writer, new WorkerMessage("finished", -1));
        }

        return 0;
    }

    private static async Task ServeAsync(WorkerRequest request, KeptInstance kept, StreamWriter writer)
    {
        if (request.MyDb?.Operation is { } operation)
        {
            // A MyDB operation opens MyDB its own way (unlocked first, for the one file it may touch).
            kept.Close();
            await MyDbWorker.RunAsync(request, operation, writer);
            return;
        }

        var index = 0;
        WorkerSession? session = null;
        MyDbFiles? before = null;
        try
        {
            if (request.CatalogBuild is { } build)
            {
                // An admin's import of a table file into a new catalog: platform SQL only, no user SQL.
                kept.Close();
                // Progress lines come from a timer while Build blocks this thread; they stop before Build returns.
                var (rows, units) = Contexts.CatalogBuilder.Build(request, build, message =>
                {
                    writer.WriteLine(JsonSerializer.Serialize(new WorkerMessage("progress", 0, Message: message), Json));
                    writer.Flush();
                });
                await WriteAsync(writer, new WorkerMessage("columns", 0, Columns: Contexts.CatalogBuilder.UnitColumns));
                if (units.Count > 0)
                {
                    await WriteAsync(writer, new WorkerMessage("rows", 0, Rows: units.Select(u => new object?[] { u.Key, u.Value }).ToList()));
                }

                await WriteAsync(writer, new WorkerMessage("end", 0, Count: units.Count, Truncated: false));
                await WriteAsync(writer, new WorkerMessage("done", 0, Count: rows));
                return;
            }

            // MyDB may be held by another process (a running long query): WorkerSession waits, reads or
            // does without. A read-write instance is kept for the next request with the same set-up.
            session = await WorkerSession.OpenAsync(request, kept, writer);
            before = MyDbFiles.Of(request.MyDbPath);
            var db = session.Connection;
            if (request.Upload is { } upload)
            {
                await StoreUploadAsync(db, upload, writer);
            }

            var job = request.Job is { } j ? await LongQueryTransaction.BeginAsync(session, j, writer) : null;
            if (job is { AlreadyDone: true })
            {
                return;
            }

            long last = 0;
            for (; index < request.Statements.Count; index++)
            {
                last = await RunStatementAsync(db, request, index, writer);
            }

            session.CheckNothingCreatedWithoutMyDb();
            if (job is not null)
            {
                await job.CommitAsync(last, writer);
            }
        }
        catch (WorkerRefusalException e)
        {
            await WriteAsync(writer, new WorkerMessage("error", index, Message: e.Message));
        }
        catch (Exception e) when (e is DuckDBException or InvalidDataException)
        {
            if (e.Message.Contains("FATAL", StringComparison.Ordinal) || e.Message.Contains("invalidated", StringComparison.Ordinal))
            {
                // The instance cannot serve again; the next request opens a new one.
                kept.Close();
            }

            var line = index < request.Statements.Count ? request.Statements[index].Line : 1;
            var message = InUsersLines(e.Message, line);
            await WriteAsync(writer, new WorkerMessage("error", index, Message: session?.Explain(message) ?? message));
        }
        finally
        {
            // New tables get their date, and MyDB's used space is measured (MyDbMetadata): not after a run that
            // wrote nothing (most quick queries), where measuring cost more than the query.
            if (session is { Mode: MyDbMode.ReadWrite } && !(before is { } b && b.Unchanged(MyDbFiles.Of(request.MyDbPath))))
            {
                MyDbSession.Stamp(session.Connection, request);
            }

            // A job's unfinished transaction rolls back here: nothing half-written stays.
            session?.Dispose();
        }
    }

    /// <summary>DuckDB counts lines from the statement's start; the user counts from the top of what they wrote.</summary>
    internal static string InUsersLines(string message, int firstLine) =>
        firstLine <= 1 ? message
            : System.Text.RegularExpressions.Regex.Replace(message, @"(?m)^LINE (\d+):",
                m => "LINE " + (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + firstLine - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + ":");

    /// <summary>Loads DuckDB and compiles the query path before the first request arrives, so a fresh worker answers sooner.</summary>
    private static void Warm()
    {
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT 42 AS answer, 'x' AS text";
        using var rows = command.ExecuteReader();
        while (rows.Read())
        {
            _ = JsonValues.Read(rows, 0, rows.GetDataTypeName(0));
        }
    }

    /// <summary>Runs one statement; returns the rows it affected or returned (all of them for a long query, past MaxRows).</summary>
    private static async Task<long> RunStatementAsync(DuckDBConnection db, WorkerRequest request, int index, StreamWriter writer)
    {
        var statement = request.Statements[index];
        using var command = db.CreateCommand();
        command.CommandText = statement.Sql;
        if (!statement.ReturnsRows)
        {
            var affected = command.ExecuteNonQuery();
            await WriteAsync(writer, new WorkerMessage("done", index, Count: affected));
            return affected;
        }

        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(i => new WorkerColumn(reader.GetName(i), JsonValues.TypeName(reader, i))).ToList();
        await WriteAsync(writer, new WorkerMessage("columns", index, Columns: columns));
        var rows = new List<object?[]>(Batch);
        long count = 0;
        long total = 0;
        var truncated = false;
        while (reader.Read())
        {
            total++;
            if (count >= request.MaxRows)
            {
                truncated = true;
                if (request.Job is null)
                {
                    break;
                }

                continue; // a long query counts every row it returns, and sends only the first ones
            }

            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = JsonValues.Read(reader, i, columns[i].Type);
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
        return total;
    }

    private static async Task StoreUploadAsync(DuckDBConnection db, WorkerUpload upload, StreamWriter writer)
    {
        using (var create = db.CreateCommand())
        {
            create.CommandText = $"CREATE TABLE {Sql.Identifier(upload.Table)} ({string.Join(", ", upload.Columns.Select((c, i) => $"{Sql.Identifier(c)} {upload.Types[i]}"))})";
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

    internal static async Task WriteAsync(StreamWriter writer, WorkerMessage message)
    {
        await writer.WriteLineAsync(JsonSerializer.Serialize(message, Json));
        await writer.FlushAsync();
    }
}

/// <summary>
/// What a run can change of a MyDB on disk: the database file (size, modification time), its write-ahead log and the
/// metadata file beside it. DuckDB writes every change to the log first, or to the file itself at a checkpoint, so
/// when none of them moved and the log is empty, the run wrote nothing and MyDB need not be measured again.
/// </summary>
internal sealed record MyDbFiles(long Length, DateTime Modified, long WalLength, bool Metadata)
{
    public static MyDbFiles? Of(string myDbPath)
    {
        if (myDbPath == DuckDbSandbox.InMemory)
        {
            return null;
        }

        var file = new FileInfo(myDbPath);
        var wal = new FileInfo(myDbPath + ".wal");
        return file.Exists ? new MyDbFiles(file.Length, file.LastWriteTimeUtc, wal.Exists ? wal.Length : 0, File.Exists(MyDbMetadata.PathBeside(myDbPath))) : null;
    }

    public bool Unchanged(MyDbFiles? after) => after == this && WalLength == 0 && Metadata;
}
