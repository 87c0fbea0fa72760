using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>
/// Queries without login, as SciServer allows on public contexts: the few CasJobs routes that accept
/// them ask here who is calling. A request with credentials is that user; a request with a token that
/// no longer holds is refused (it would otherwise quietly run as nobody); a request without any is
/// <see cref="Caller.Anonymous"/>, limited per client address when it runs a query.
/// </summary>
public static class AnonymousQueries
{
    /// <summary>The caller of a route that also answers without login (no query is run: not counted).</summary>
    public static Caller CallerOf(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.User.Identity?.IsAuthenticated == true)
        {
            return Caller.From(http.User);
        }

        if (PlatformAuth.FindToken(http.Request) is not null)
        {
            throw new PlatformException(ProblemKind.Unauthorized, "The token is invalid, expired or revoked: log in again to get a new one.");
        }

        return Caller.Anonymous;
    }

    /// <summary>The caller of a route that runs a query; without login it counts against the address's rate.</summary>
    public static Caller QueryCallerOf(HttpContext http)
    {
        var caller = CallerOf(http);
        if (caller.IsAnonymous)
        {
            http.RequestServices.GetRequiredService<AnonymousQueryLimiter>().Admit(http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        }

        return caller;
    }
}

/// <summary>
/// Counts queries without login per client address over the last minute (CasJobs:AnonymousQueriesPerMinute);
/// over the limit, 429 with Retry-After until the oldest leaves the window. In memory, like the login throttle.
/// </summary>
public sealed class AnonymousQueryLimiter(IOptions<CasJobsOptions> options, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _recent = new(StringComparer.Ordinal);

    public void Admit(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var now = time.GetUtcNow();
        if (_recent.Count > PruneAbove)
        {
            Prune(now);
        }

        var limit = options.Value.AnonymousQueriesPerMinute;
        var queue = _recent.GetOrAdd(address, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            Trim(queue, now);
            if (queue.Count >= limit)
            {
                var wait = queue.ElementAt(queue.Count - limit) + Window - now;
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                throw new PlatformException(ProblemKind.TooManyRequests,
                    $"Too many queries without login from your address (at most {limit.ToString(CultureInfo.InvariantCulture)} a minute). Try again in {seconds.ToString(CultureInfo.InvariantCulture)} s, or log in.")
                {
                    RetryAfterSeconds = seconds,
                };
            }

            queue.Enqueue(now);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, queue) in _recent)
        {
            lock (queue)
            {
                Trim(queue, now);
                if (queue.Count == 0)
                {
                    _recent.TryRemove(key, out _);
                }
            }
        }
    }

    private static void Trim(Queue<DateTimeOffset> queue, DateTimeOffset now)
    {
        while (queue.Count > 0 && queue.Peek() + Window <= now)
        {
            queue.Dequeue();
        }
    }
}
