using System.Text;

namespace OpenSciServer.Files;

/// <summary>
/// Checks the relative path a client names inside a volume. Paths are resolved beneath the volume's
/// folder by segments, never by string tests on the joined path: no empty name, no "." or "..", no
/// separators or control characters inside a name, nothing that decodes to those, and no name longer
/// than the file system allows. Symbolic links are dealt with when the path is opened (<see cref="NoFollow"/>).
/// </summary>
public static class VolumePaths
{
    /// <summary>Longest name a Linux file system stores, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 255;

    public const int MaxDepth = 64;

    public const int MaxPathBytes = 4000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Splits and checks a relative path; an empty path means the volume's own folder.</summary>
    /// <exception cref="Infrastructure.PlatformException">With a message a person can act on.</exception>
    public static IReadOnlyList<string> Split(string? relative)
    {
        if (string.IsNullOrEmpty(relative))
        {
            return [];
        }

        if (Encoding.UTF8.GetByteCount(relative) > MaxPathBytes)
        {
            throw Infrastructure.PlatformException.Invalid($"The path is longer than {MaxPathBytes} bytes.", "path");
        }

        if (relative.Contains('\\', StringComparison.Ordinal))
        {
            throw Infrastructure.PlatformException.Invalid("Paths use '/' between folders; '\\' is not allowed in names.", "path");
        }

        // Leading, trailing and doubled slashes are tolerated (clients build paths by joining), the names are not.
        var names = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (names.Length > MaxDepth)
        {
            throw Infrastructure.PlatformException.Invalid($"The path is deeper than {MaxDepth} folders.", "path");
        }

        foreach (var name in names)
        {
            CheckName(name);
        }

        return names;
    }

    /// <summary>Checks one file or folder name (as given for a new folder, a rename or an upload).</summary>
    public static string CheckName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw Infrastructure.PlatformException.Invalid("A name cannot be empty.", "path");
        }

        // "." and "..", and names of dots only ("....", a classic filter bypass) are refused outright.
        if (name.All(c => c == '.'))
        {
            throw Infrastructure.PlatformException.Invalid("Names made only of dots ('.', '..', ...) are not allowed in paths.", "path");
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                throw Infrastructure.PlatformException.Invalid("Names cannot hold control characters (such as NUL or a newline).", "path");
            }

            if (c is '/' or '\\')
            {
                throw Infrastructure.PlatformException.Invalid($"The name '{name}' holds a character that is not allowed.", "path");
            }
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(name);
        }
        catch (EncoderFallbackException)
        {
            throw Infrastructure.PlatformException.Invalid("The name is not valid text (a broken Unicode character).", "path");
        }

        if (bytes > MaxNameBytes)
        {
            throw Infrastructure.PlatformException.Invalid($"A name is at most {MaxNameBytes} bytes long (UTF-8).", "path");
        }

        // A client that encoded a path twice would have us treat "%2e%2e%2f" as a name; refuse anything
        // that decodes to a separator or a dot-dot, however many times it was encoded.
        var decoded = name;
        for (var i = 0; i < 3 && decoded.Contains('%', StringComparison.Ordinal); i++)
        {
            decoded = Uri.UnescapeDataString(decoded);
            if (decoded is "." or ".." || decoded.StartsWith("..", StringComparison.Ordinal) || decoded.Contains('/', StringComparison.Ordinal)
                || decoded.Contains('\\', StringComparison.Ordinal) || decoded.Any(char.IsControl))
            {
                throw Infrastructure.PlatformException.Invalid("The path holds an encoded '..' or separator.", "path");
            }
        }

        return name;
    }
}
