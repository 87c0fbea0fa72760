using System.Text;

namespace OpenSciServer.Files;

public sealed record FitsCard(string Key, string? Value, string? Comment);

/// <summary>Reads the primary header of a FITS file: 2880-byte blocks of 80-character cards, up to END.</summary>
public static class FitsHeader
{
    private const int Block = 2880;
    private const int Card = 80;
    private const int MaxBlocks = 200;

    public static async Task<IReadOnlyList<FitsCard>> ReadAsync(Stream stream, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var cards = new List<FitsCard>();
        var buffer = new byte[Block];
        for (var block = 0; block < MaxBlocks; block++)
        {
            if (await stream.ReadAtLeastAsync(buffer, Block, throwOnEndOfStream: false, ct) < Block)
            {
                throw Infrastructure.PlatformException.Invalid("This is not a FITS file: it ends inside its header.", "path");
            }

            for (var i = 0; i < Block; i += Card)
            {
                var text = Encoding.ASCII.GetString(buffer, i, Card);
                if (block == 0 && i == 0 && !text.StartsWith("SIMPLE  =", StringComparison.Ordinal))
                {
                    throw Infrastructure.PlatformException.Invalid("This is not a FITS file: it does not start with SIMPLE.", "path");
                }

                var key = text[..8].TrimEnd();
                if (key == "END")
                {
                    return cards;
                }

                if (text.Length > 9 && text[8] == '=' && text[9] == ' ')
                {
                    var (value, comment) = SplitValue(text[10..]);
                    cards.Add(new FitsCard(key, value, comment));
                }
                else if (key.Length > 0 || text.Trim().Length > 0)
                {
                    cards.Add(new FitsCard(key, null, text[8..].Trim()));
                }
            }
        }

        throw Infrastructure.PlatformException.Invalid("The FITS header has no END card in its first blocks.", "path");
    }

    private static (string Value, string? Comment) SplitValue(string field)
    {
        var trimmed = field.TrimStart();
        if (trimmed.StartsWith('\''))
        {
            // A quoted string; '' inside is an escaped quote.
            var sb = new StringBuilder();
            var i = 1;
            while (i < trimmed.Length)
            {
                if (trimmed[i] == '\'')
                {
                    if (i + 1 < trimmed.Length && trimmed[i + 1] == '\'')
                    {
                        sb.Append('\'');
                        i += 2;
                        continue;
                    }

                    break;
                }

                sb.Append(trimmed[i++]);
            }

            var rest = i + 1 < trimmed.Length ? trimmed[(i + 1)..] : "";
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            return (sb.ToString().TrimEnd(), slash >= 0 ? rest[(slash + 1)..].Trim() : null);
        }

        var cut = trimmed.IndexOf('/', StringComparison.Ordinal);
        return cut >= 0 ? (trimmed[..cut].Trim(), trimmed[(cut + 1)..].Trim()) : (trimmed.Trim(), null);
    }
}
