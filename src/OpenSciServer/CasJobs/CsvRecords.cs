using System.Text;

namespace OpenSciServer.CasJobs;

/// <summary>
/// Splits CSV text (RFC 4180: comma-separated, double quotes around values that hold commas, quotes or line
/// breaks, "" for a quote) into records, streaming, each with the line it starts on. Used for uploads parsed by
/// the platform and for imports parsed by a worker.
/// </summary>
public static class CsvRecords
{
    /// <exception cref="InvalidDataException">A quoted value is never closed.</exception>
    public static IEnumerable<(int Line, List<string> Fields)> Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var line = 1;
        var start = 1;
        int next;
        while ((next = reader.Read()) >= 0)
        {
            var c = (char)next;
            if (quoted)
            {
                if (c == '"' && reader.Peek() == '"')
                {
                    field.Append('"');
                    reader.Read();
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && reader.Peek() == '\n')
                {
                    reader.Read();
                }

                fields.Add(field.ToString());
                field.Clear();
                yield return (start, fields);
                fields = [];
                line++;
                start = line;
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw new InvalidDataException($"A quoted value that starts on line {start} is never closed.");
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }
}
