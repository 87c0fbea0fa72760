using System.Globalization;
using System.Text;
using OpenSciServer.Authorization;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Web.Pages.Files;

/// <summary>
/// What the Files pages share: links built from path names (each name escaped on its own, so a name
/// holding '#', '?', '%' or HTML stays one name), sizes for people, icons, and a small CSV reader.
/// </summary>
internal static class FilesUi
{
    /// <summary>Entries per page of a folder listing.</summary>
    public const int PageSize = 200;

    /// <summary>Bytes of a text or CSV file read for its preview.</summary>
    public const int PreviewBytes = 256 * 1024;

    /// <summary>Rows of a CSV file shown as a table.</summary>
    public const int PreviewRows = 200;

    public static string Escape(IEnumerable<string> names) => string.Join('/', names.Select(Uri.EscapeDataString));

    /// <summary>The dashboard page of a folder or file (relative to the base href).</summary>
    public static string PageHref(IEnumerable<string> names, string? query = null)
    {
        var path = Escape(names);
        var href = path.Length == 0 ? "files" : "files/" + path;
        return query is null ? href : href + "?" + query;
    }

    /// <summary>A route of the file API: content, zip, ...</summary>
    public static string ApiHref(string route, IEnumerable<string> names, string? query = null) =>
        $"api/files/{route}/{Escape(names)}" + (query is null ? "" : "?" + query);

    public static string Query(params (string Key, string? Value)[] pairs) =>
        string.Join('&', pairs.Where(p => p.Value is not null).Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value!)));

    /// <summary>1 KiB = 1024 bytes, as the quota is counted.</summary>
    public static string Size(long bytes) => QuotaService.Bytes(bytes);

    public static string Count(long n, string one, string many) =>
        n.ToString("N0", CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many);

    public static string Number(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>"files untouched for 30 days are deleted" for a root with a purge policy.</summary>
    public static string? PurgeText(int? days) =>
        days is { } d ? $"Files untouched for {Count(d, "day", "days")} are deleted automatically." : null;

    public static int Percent(long used, long? quota) =>
        quota is > 0 ? (int)Math.Clamp(Math.Ceiling(used * 100.0 / quota.Value), used > 0 ? 1 : 0, 100) : 0;

    public static string ActionNames(ResourceActions actions) => string.Join(", ", ResourceTypes.Names(actions));

    public static string Icon(FileEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.IsFolder)
        {
            return "folder-fill";
        }

        var extension = Path.GetExtension(entry.Name).ToLowerInvariant();
        return extension switch
        {
            ".fits" or ".fit" or ".fts" => "stars",
            ".csv" or ".tsv" or ".xlsx" or ".xls" or ".parquet" => "filetype-csv",
            ".png" or ".jpg" or ".jpeg" or ".gif" or ".webp" or ".svg" or ".bmp" or ".tif" or ".tiff" => "file-earmark-image",
            ".txt" or ".md" or ".log" or ".rst" => "file-earmark-text",
            ".py" or ".r" or ".jl" or ".sh" or ".c" or ".cpp" or ".h" or ".f90" or ".js" or ".cs" or ".java" or ".sql" => "file-earmark-code",
            ".ipynb" => "journal-code",
            ".json" or ".xml" or ".yaml" or ".yml" or ".toml" or ".ini" or ".cfg" => "file-earmark-code",
            ".pdf" => "file-earmark-pdf",
            ".zip" or ".gz" or ".tgz" or ".tar" or ".bz2" or ".xz" or ".7z" => "file-earmark-zip",
            ".h5" or ".hdf5" or ".nc" or ".fz" or ".npy" or ".npz" => "file-earmark-binary",
            _ => "file-earmark",
        };
    }

    /// <summary>Images the download route shows inline (never SVG: it can hold script).</summary>
    public static bool IsInlineImage(string contentType) =>
        contentType is "image/png" or "image/jpeg" or "image/gif" or "image/webp";

    public static bool IsFits(string contentType) => contentType == "application/fits";

    public static bool IsCsv(string name) =>
        name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Rows of delimited text: quoted fields may hold the delimiter, doubled quotes and line breaks.
    /// A row cut off by the end of the preview is dropped rather than shown half.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> ParseDelimited(string text, char delimiter, int maxRows, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rows = new List<IReadOnlyList<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var i = 0;
        while (i < text.Length && rows.Count < maxRows)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i += 2;
                    continue;
                }

                if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == delimiter)
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
            }
            else
            {
                field.Append(c);
            }

            i++;
        }

        if (rows.Count < maxRows && !truncated && (field.Length > 0 || row.Count > 0))
        {
            row.Add(field.ToString());
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Text is shown when the start of the file holds no NUL byte (binary files nearly always do).</summary>
    public static bool LooksLikeText(string head) => !head.Contains('\0', StringComparison.Ordinal);

    /// <summary>A refusal of the service, as a message about the form field the person typed into.</summary>
    public static PlatformException About(this PlatformException error, string field)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.Kind is ProblemKind.Invalid or ProblemKind.Conflict
            ? new PlatformException(error.Kind, error.Message, field) { RetryAfterSeconds = error.RetryAfterSeconds }
            : error;
    }
}
