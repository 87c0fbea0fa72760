using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OpenSciServer.Accounts;

/// <summary>
/// Counts failed logins per account and per client address in a sliding window. Over the limit, login
/// is refused with a Retry-After until the oldest failure leaves the window; other accounts and other
/// addresses are not affected. In memory: a restart forgives, which is acceptable for a throttle.
/// </summary>
public sealed class LoginThrottle(IOptionsMonitor<AccountsOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);

    /// <summary>Seconds to wait before this account or address may try again, or null if it may now.</summary>
    public int? RetryAfterSeconds(string account, string? address)
    {
        var o = options.CurrentValue;
        var wait = Wait("u:" + account, o.MaxFailuresPerAccount, o.FailureWindow);
        if (address is not null)
        {
            var byAddress = Wait("a:" + address, o.MaxFailuresPerAddress, o.FailureWindow);
            if (byAddress > wait)
            {
                wait = byAddress;
            }
        }

        return wait > TimeSpan.Zero ? (int)Math.Ceiling(wait.TotalSeconds) : null;
    }

    public void RecordFailure(string account, string? address)
    {
        Add("u:" + account);
        if (address is not null)
        {
            Add("a:" + address);
        }
    }

    /// <summary>A successful login clears the account's failures (not the address's).</summary>
    public void RecordSuccess(string account) => _failures.TryRemove("u:" + account, out _);

    // Failures for made-up names would otherwise pile up forever.
    private const int PruneAbove = 10_000;

    private void Add(string key)
    {
        var now = time.GetUtcNow();
        if (_failures.Count > PruneAbove)
        {
            Prune(now);
        }

        var queue = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            Trim(queue, now, options.CurrentValue.FailureWindow);
            queue.Enqueue(now);
        }
    }

    private TimeSpan Wait(string key, int limit, TimeSpan window)
    {
        if (!_failures.TryGetValue(key, out var queue))
        {
            return TimeSpan.Zero;
        }

        var now = time.GetUtcNow();
        lock (queue)
        {
            Trim(queue, now, window);
            if (queue.Count < limit)
            {
                return TimeSpan.Zero;
            }

            // The count drops below the limit when the (count - limit + 1)-th oldest failure expires.
            var blocking = queue.ElementAt(queue.Count - limit);
            return blocking + window - now;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        var window = options.CurrentValue.FailureWindow;
        foreach (var (key, queue) in _failures)
        {
            lock (queue)
            {
                Trim(queue, now, window);
                if (queue.Count == 0)
                {
                    _failures.TryRemove(key, out _);
                }
            }
        }
    }

    private static void Trim(Queue<DateTimeOffset> queue, DateTimeOffset now, TimeSpan window)
    {
        while (queue.Count > 0 && queue.Peek() + window <= now)
        {
            queue.Dequeue();
        }
    }
}
