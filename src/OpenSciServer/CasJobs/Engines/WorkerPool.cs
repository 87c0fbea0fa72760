namespace OpenSciServer.CasJobs.Engines;

/// <summary>
/// Idle query workers kept warm for their next request. A worker is handed out again only for a
/// request with exactly the same sandbox (the same user's MyDB folder, the same context, the same
/// limits), so no worker ever serves two users. An idle worker keeps its database open (the catalogue
/// stays cached), so the runner evicts a user's idle workers before another worker of theirs starts.
/// The oldest go first when the pool is full, and any idle longer than the lifetime is stopped.
/// </summary>
internal sealed class WorkerPool : IAsyncDisposable
{
    /// <summary>A worker is retired after this many requests, whatever its health.</summary>
    public const int MaxServed = 200;

    private readonly int _capacity;
    private readonly TimeSpan _idleLifetime;
    private readonly TimeProvider _time;
    private readonly LinkedList<WorkerProcess> _idle = new();
    private readonly ITimer _sweeper;
    private bool _disposed;

    public WorkerPool(int capacity, TimeSpan idleLifetime, TimeProvider time)
    {
        _capacity = capacity;
        _idleLifetime = idleLifetime;
        _time = time;
        var period = TimeSpan.FromSeconds(Math.Clamp(idleLifetime.TotalSeconds / 4, 1, 30));
        _sweeper = time.CreateTimer(_ => Retire(Sweep()), null, period, period);
    }

    public int IdleCount
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>An idle worker started with <paramref name="key"/>, most recently used first, or null.</summary>
    public WorkerProcess? TryTake(string key)
    {
        Retire(Sweep());
        lock (_idle)
        {
            for (var node = _idle.Last; node is not null; node = node.Previous)
            {
                if (node.Value.Key == key && !node.Value.HasExited)
                {
                    _idle.Remove(node);
                    return node.Value;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Stops the idle workers that hold <paramref name="owner"/>'s MyDB (an idle worker keeps its
    /// database open), and returns once they are gone, so another process may open the file.
    /// </summary>
    public async Task EvictAsync(string owner)
    {
        List<WorkerProcess> evicted;
        lock (_idle)
        {
            evicted = _idle.Where(w => w.Owner == owner).ToList();
            foreach (var worker in evicted)
            {
                _idle.Remove(worker);
            }
        }

        foreach (var worker in evicted)
        {
            await worker.DisposeAsync();
        }
    }

    /// <summary>Keeps a worker that finished its request cleanly for the next one, or stops it.</summary>
    public void Return(WorkerProcess worker)
    {
        WorkerProcess? evicted = null;
        lock (_idle)
        {
            if (_disposed || _capacity == 0 || worker.Served >= MaxServed || worker.HasExited)
            {
                evicted = worker;
            }
            else
            {
                worker.IdleSince = _time.GetUtcNow();
                _idle.AddLast(worker);
                if (_idle.Count > _capacity)
                {
                    evicted = _idle.First!.Value;
                    _idle.RemoveFirst();
                }
            }
        }

        if (evicted is not null)
        {
            Retire([evicted]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync();
        List<WorkerProcess> all;
        lock (_idle)
        {
            _disposed = true;
            all = [.. _idle];
            _idle.Clear();
        }

        foreach (var worker in all)
        {
            await worker.DisposeAsync();
        }
    }

    private List<WorkerProcess> Sweep()
    {
        var cutoff = _time.GetUtcNow() - _idleLifetime;
        var expired = new List<WorkerProcess>();
        lock (_idle)
        {
            while (_idle.First is { } oldest && (oldest.Value.IdleSince <= cutoff || oldest.Value.HasExited))
            {
                expired.Add(oldest.Value);
                _idle.RemoveFirst();
            }
        }

        return expired;
    }

    private static void Retire(List<WorkerProcess> workers)
    {
        foreach (var worker in workers)
        {
            _ = worker.DisposeAsync().AsTask();
        }
    }
}
