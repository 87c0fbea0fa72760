namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// What the platform adds to a worker request about MyDB (<see cref="WorkerRequest.MyDb"/>): the time to stamp
/// new tables with, whether MyDB is read-only (over its quota), the tables others shared with the caller, extra
/// files the sandbox must show, and, for the MyDB API, one platform-written operation instead of user SQL.
/// </summary>
/// <param name="Now">The platform's clock, for the creation dates of tables first seen in this run.</param>
/// <param name="ReadOnly">Open MyDB read-only: it is over its quota (SQL that writes fails; the platform answers 507), or a long query only reads.</param>
/// <param name="Shared">Tables shared with the caller, copied read-only into the <c>shared</c> catalog before the configuration is locked.</param>
/// <param name="Binds">Paths the sandbox mounts at the same place: the owners' MyDB folders (read-only), a staged file.</param>
/// <param name="Operation">A MyDB operation the worker runs with SQL of its own; the request then has no statements.</param>
/// <param name="WaitSeconds">How long to wait for MyDB while another process holds it (default: a quick query waits up to its deadline).</param>
public sealed record WorkerMyDb(
    DateTimeOffset Now,
    bool ReadOnly = false,
    IReadOnlyList<WorkerSharedTable>? Shared = null,
    IReadOnlyList<WorkerBind>? Binds = null,
    WorkerMyDbOperation? Operation = null,
    double? WaitSeconds = null);

/// <summary>A table of <paramref name="Owner"/>'s MyDB (at <paramref name="MyDbPath"/>) the caller may read.</summary>
public sealed record WorkerSharedTable(string Owner, string Table, string MyDbPath);

/// <summary>A path the sandbox mounts at the same place, read-only unless <paramref name="Writable"/>.</summary>
public sealed record WorkerBind(string Path, bool Writable);

/// <summary>
/// A MyDB operation: <c>list</c> (tables; with <paramref name="Table"/> also its columns), <c>rename</c>, <c>drop</c>,
/// <c>import</c> (from <paramref name="File"/> in <paramref name="Format"/> csv, parquet or fits), <c>export</c> (to
/// <paramref name="File"/> in csv, parquet, fits, votable or votable-binary2) and <c>convert</c> (the request's upload rows
/// to a Parquet <paramref name="File"/>). Names were checked by the platform; the worker quotes them all the same.
/// </summary>
public sealed record WorkerMyDbOperation(string Kind, string? Table = null, string? NewName = null, string? Format = null, string? File = null);

/// <summary>The names of the MyDB operations and file formats, shared by the platform and the worker.</summary>
public static class MyDbOperations
{
    public const string List = "list";
    public const string Rename = "rename";
    public const string Drop = "drop";
    public const string Import = "import";
    public const string Export = "export";
    public const string Convert = "convert";

    /// <summary>Outcomes an operation reports as its single result row (status, detail), rather than as an error.</summary>
    public const string Ok = "ok";
    public const string Missing = "missing";
    public const string Exists = "exists";
}

/// <summary>File formats of imports and exports.</summary>
public static class TableFormats
{
    public const string Csv = "csv";
    public const string Parquet = "parquet";
    public const string Fits = "fits";
    public const string VoTable = "votable";
    public const string VoTableBinary2 = "votable-binary2";

    public static readonly IReadOnlyList<string> Importable = [Csv, Parquet, Fits];

    public static readonly IReadOnlyList<string> Exportable = [Csv, Fits, VoTable, VoTableBinary2, Parquet];

    public static string Extension(string format) => format switch
    {
        Csv => ".csv",
        Parquet => ".parquet",
        Fits => ".fits",
        _ => ".xml",
    };

    public static string MediaType(string format) => format switch
    {
        Csv => "text/csv",
        Parquet => "application/vnd.apache.parquet",
        Fits => "application/fits",
        _ => "application/x-votable+xml",
    };

    /// <summary>The format a file name suggests (.csv, .parquet/.pq, .fits/.fit/.fts, .xml/.vot), or null.</summary>
    public static string? FromFileName(string name)
    {
        var ext = System.IO.Path.GetExtension(name).ToLowerInvariant();
        return ext switch
        {
            ".csv" => Csv,
            ".parquet" or ".pq" => Parquet,
            ".fits" or ".fit" or ".fts" => Fits,
            ".xml" or ".vot" or ".votable" => VoTable,
            _ => null,
        };
    }
}
