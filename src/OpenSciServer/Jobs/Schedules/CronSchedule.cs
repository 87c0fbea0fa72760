using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cronos;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs.Schedules;

/// <summary>A parsed cron expression in its time zone: when it fires (DST handled by Cronos) and how to say it to a person.</summary>
public sealed class CronSchedule
{
    public const int MaxLength = 200;
    public const int MaxZoneLength = 64;

    private const string FieldHelp = "use 5 fields (minute hour day-of-month month day-of-week, e.g. '*/15 * * * *'), 6 with seconds first (e.g. '30 0 * * * *'), or a macro such as @hourly or @daily";

    private CronSchedule(string text, CronExpression expression, bool withSeconds, string zoneId, TimeZoneInfo zone)
    {
        Text = text;
        Expression = expression;
        WithSeconds = withSeconds;
        ZoneId = zoneId;
        Zone = zone;
    }

    public string Text { get; }

    public CronExpression Expression { get; }

    public bool WithSeconds { get; }

    public string ZoneId { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>Parses both, or throws a 400 naming the field (<c>cron</c> or <c>timeZone</c>) and what is wrong.</summary>
    public static CronSchedule Parse(string? cron, string? timeZone)
    {
        var text = (cron ?? "").Trim();
        if (text.Length == 0)
        {
            throw PlatformException.Invalid($"Give a cron expression: {FieldHelp}.", "cron");
        }

        if (text.Length > MaxLength || text.Any(char.IsControl))
        {
            throw PlatformException.Invalid($"That is not a cron expression: at most {MaxLength} characters on one line; {FieldHelp}.", "cron");
        }

        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var withSeconds = fields.Length == 6;
        if (!text.StartsWith('@') && fields.Length is not (5 or 6))
        {
            throw PlatformException.Invalid($"'{text}' is not a cron expression: it has {fields.Length} field{(fields.Length == 1 ? "" : "s")}; {FieldHelp}.", "cron");
        }

        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(string.Join(' ', fields), withSeconds ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw PlatformException.Invalid($"'{text}' is not a cron expression: {e.Message.TrimEnd('.')}; {FieldHelp}.", "cron");
        }

        var (zoneId, zone) = FindZone(timeZone);
        return new CronSchedule(string.Join(' ', fields), expression, withSeconds, zoneId, zone);
    }

    /// <summary>The zone by IANA id (UTC when none is given), or a 400.</summary>
    public static (string Id, TimeZoneInfo Zone) FindZone(string? timeZone)
    {
        var id = string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone.Trim();
        // Zone ids name files under /usr/share/zoneinfo: refuse anything that could walk out of it.
        var wellFormed = id.Length <= MaxZoneLength && !id.Contains("..", StringComparison.Ordinal) && !id.StartsWith('/')
            && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '+');
        if (wellFormed)
        {
            try
            {
                var zone = TimeZoneInfo.FindSystemTimeZoneById(id);
                return (id, zone);
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                // Answered below.
            }
        }

        throw PlatformException.Invalid(
            $"'{(id.Length > MaxZoneLength ? id[..MaxZoneLength] + "…" : id)}' is not a time zone: use an IANA name such as UTC, Europe/Berlin or America/Chicago.", "timeZone");
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, in UTC; null if there is none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) =>
        Expression.GetNextOccurrence(after, Zone, inclusive: false)?.ToUniversalTime();

    /// <summary>The last occurrence at or before <paramref name="at"/>, in UTC.</summary>
    public DateTimeOffset? LastAtOrBefore(DateTimeOffset at) =>
        Expression.GetPreviousOccurrence(at, Zone, inclusive: true)?.ToUniversalTime();

    /// <summary>The occurrences from <paramref name="from"/> to <paramref name="to"/>, both included, counted up to <paramref name="cap"/>.</summary>
    public int Count(DateTimeOffset from, DateTimeOffset to, int cap) =>
        from > to ? 0 : Expression.GetOccurrences(from, to, Zone, fromInclusive: true, toInclusive: true).Take(cap).Count();

    /// <summary>The next <paramref name="count"/> occurrences after <paramref name="after"/>, in UTC.</summary>
    public IReadOnlyList<DateTimeOffset> NextRuns(DateTimeOffset after, int count)
    {
        var runs = new List<DateTimeOffset>(count);
        var at = after;
        while (runs.Count < count && NextAfter(at) is { } next)
        {
            runs.Add(next);
            at = next;
        }

        return runs;
    }

    /// <summary>The shortest gap between the next occurrences (a sample of them: cron gaps repeat within days).</summary>
    public TimeSpan? ShortestGap(DateTimeOffset after, int sample = 100)
    {
        var runs = NextRuns(after, sample);
        return runs.Count < 2 ? null : runs.Zip(runs.Skip(1), (a, b) => b - a).Min();
    }

    /// <summary>A person's reading of the expression, e.g. "every day at 02:30 (Europe/Berlin)".</summary>
    public string Describe() => Describe(Text) + $" ({ZoneId})";

    /// <summary>Common shapes in words, anything else field by field.</summary>
    public static string Describe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var macro = text.ToLowerInvariant() switch
        {
            "@every_second" => "every second",
            "@every_minute" => "every minute",
            "@hourly" => "every hour, on the hour",
            "@daily" or "@midnight" => "every day at 00:00",
            "@weekly" => "every Sunday at 00:00",
            "@monthly" => "on the 1st of every month at 00:00",
            "@yearly" or "@annually" => "every 1 January at 00:00",
            _ => null,
        };
        if (macro is not null)
        {
            return macro;
        }

        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var second = f.Length == 6 ? f[0] : "0";
        if (f.Length == 6)
        {
            f = f[1..];
        }

        if (f.Length != 5)
        {
            return text;
        }

        var (minute, hour, dom, month, dow) = (f[0], f[1], f[2], f[3], f[4]);
        string? when = null;
        if (minute == "*" && hour == "*")
        {
            when = "every minute";
        }
        else if (minute.StartsWith("*/", StringComparison.Ordinal) && IsNumber(minute[2..]) && hour == "*")
        {
            when = $"every {minute[2..]} minutes";
        }
        else if (IsNumber(minute) && hour == "*")
        {
            when = $"every hour at minute {minute}";
        }
        else if (IsNumber(minute) && hour.StartsWith("*/", StringComparison.Ordinal) && IsNumber(hour[2..]))
        {
            when = $"every {hour[2..]} hours at minute {minute}";
        }
        else if (IsNumber(minute) && IsNumber(hour))
        {
            when = $"at {int.Parse(hour, CultureInfo.InvariantCulture):00}:{int.Parse(minute, CultureInfo.InvariantCulture):00}";
        }

        if (when is null)
        {
            return $"at minute {minute}, hour {hour}, day of month {dom}, month {month}, day of week {dow}" + SecondPart(second);
        }

        var days = (dom, month, dow) switch
        {
            ("*", "*", "*") => when.StartsWith("at ", StringComparison.Ordinal) ? "every day" : "",
            ("*", "*", _) => "on " + Weekdays(dow),
            (_, "*", "*") when IsNumber(dom) => $"on day {dom} of every month",
            _ => $"on day of month {dom}, month {month}, day of week {dow}",
        };
        var words = when.StartsWith("at ", StringComparison.Ordinal) && days.Length > 0 ? $"{days} {when}" : days.Length > 0 ? $"{when}, {days}" : when;
        return words + SecondPart(second);
    }

    private static string SecondPart(string second) => second is "0" or "00" ? "" : $" (second {second})";

    private static bool IsNumber(string s) => s.Length is > 0 and <= 2 && s.All(char.IsAsciiDigit);

    private static readonly string[] DayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    private static string Weekdays(string dow)
    {
        if (dow is "1-5" or "MON-FRI")
        {
            return "Monday to Friday";
        }

        var names = new StringBuilder();
        foreach (var part in dow.Split(','))
        {
            var name = IsNumber(part) && int.Parse(part, CultureInfo.InvariantCulture) <= 7 ? DayNames[int.Parse(part, CultureInfo.InvariantCulture)] : part;
            names.Append(names.Length > 0 ? ", " : "").Append(name);
        }

        return names.ToString();
    }
}

/// <summary>The job template as stored in a schedule.</summary>
public static class ScheduleTemplate
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static string Serialize(JobSubmission submission) => JsonSerializer.Serialize(submission, Json);

    public static JobSubmission Deserialize(string json) =>
        JsonSerializer.Deserialize<JobSubmission>(json, Json) ?? throw new InvalidOperationException("A schedule's template is empty.");
}
