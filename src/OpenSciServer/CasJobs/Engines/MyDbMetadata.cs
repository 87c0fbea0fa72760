using System.Text.Json;

namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// What DuckDB does not keep about a MyDB, in a small file beside it (<c>mydb.meta.json</c>): when the platform
/// first saw each table, and the bytes the database uses (DuckDB's used blocks, which drop when tables are
/// dropped, unlike the file's size). Written by the worker after each run that could change MyDB, replaced
/// atomically; read by the platform for listings and the quota. A missing or unreadable file means "not known yet".
/// </summary>
public sealed record MyDbMetadata(long? UsedBytes, Dictionary<string, DateTimeOffset> Tables)
{
    public const string FileName = "mydb.meta.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static MyDbMetadata Empty => new(null, new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase));

    public static string PathBeside(string myDbPath) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(myDbPath))!, FileName);

    public static MyDbMetadata Read(string myDbPath)
    {
        try
        {
            var path = PathBeside(myDbPath);
            if (!File.Exists(path))
            {
                return Empty;
            }

            var stored = JsonSerializer.Deserialize<MyDbMetadata>(File.ReadAllText(path), Json);
            return stored is null ? Empty : new MyDbMetadata(stored.UsedBytes, new Dictionary<string, DateTimeOffset>(stored.Tables ?? [], StringComparer.OrdinalIgnoreCase));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return Empty;
        }
    }

    public void Write(string myDbPath)
    {
        var path = PathBeside(myDbPath);
        var temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Json));
        File.Move(temp, path, overwrite: true);
    }
}
