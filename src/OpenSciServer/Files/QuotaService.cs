using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Files;

/// <summary>A user's use of one root volume against its quota (null quota: unlimited).</summary>
public sealed record QuotaUsage(string RootVolume, long BytesUsed, long FilesUsed, long? BytesQuota, long? FilesQuota, int? PurgeAfterDays);

/// <summary>
/// Measured usage per user and root volume. Sessions and jobs write straight to disk, so usage is
/// measured by walking the user's folder (links not followed), trusted for a short while, and adjusted
/// by the platform's own writes in between.
/// </summary>
public sealed class UsageCache
{
    private readonly ConcurrentDictionary<(Guid User, string Root), Measured> _entries = new();

    internal bool TryGet(Guid user, string root, DateTimeOffset notBefore, out Measured measured) =>
        _entries.TryGetValue((user, root), out measured!) && measured.At >= notBefore;

    internal void Set(Guid user, string root, Measured measured) => _entries[(user, root)] = measured;

    /// <summary>Adds the effect of a write the platform made itself.</summary>
    public void Adjust(Guid user, string root, long bytes, long files) =>
        _entries.AddOrUpdate((user, root), _ => new Measured(DateTimeOffset.MinValue, 0, 0), (_, m) => m with { Bytes = m.Bytes + bytes, Files = m.Files + files });

    public void Forget(Guid user, string root) => _entries.TryRemove((user, root), out _);

    internal sealed record Measured(DateTimeOffset At, long Bytes, long Files);
}

public sealed class QuotaService(PlatformDbContext db, VolumeService volumes, UsageCache cache, IOptions<FilesOptions> options, TimeProvider time)
{
    public async Task<QuotaUsage> UsageAsync(Guid userId, string userName, RootVolumeOptions root, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(root);
        var over = await db.Set<QuotaOverride>().AsNoTracking().FirstOrDefaultAsync(q => q.UserId == userId && q.RootVolume == root.Name, ct);
        var measured = Measure(userId, userName, root);
        return new QuotaUsage(root.Name, measured.Bytes, measured.Files, over?.QuotaBytes ?? root.QuotaBytes, over?.QuotaFiles ?? root.QuotaFiles, root.PurgeAfterDays);
    }

    public async Task<IReadOnlyList<QuotaUsage>> UsageAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var result = new List<QuotaUsage>();
        foreach (var root in volumes.Roots)
        {
            result.Add(await UsageAsync(caller.UserId, caller.UserName, root, ct));
        }

        return result;
    }

    /// <summary>Refuses (413) when adding bytes and files would pass the owner's quota.</summary>
    public async Task EnsureRoomAsync(VolumeLocation location, long addBytes, long addFiles, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.UserVolume is not { } volume || location.Root is not { } root)
        {
            return;
        }

        var usage = await UsageAsync(volume.OwnerId, volume.OwnerName, root, ct);
        if (usage.BytesQuota is { } maxBytes && usage.BytesUsed + addBytes > maxBytes)
        {
            throw new PlatformException(ProblemKind.TooLarge,
                $"This would pass the {root.Name} quota of {volume.OwnerName}: {Bytes(usage.BytesUsed)} used of {Bytes(maxBytes)}, {Bytes(addBytes)} more needed.");
        }

        if (usage.FilesQuota is { } maxFiles && usage.FilesUsed + addFiles > maxFiles)
        {
            throw new PlatformException(ProblemKind.TooLarge, $"This would pass the {root.Name} file-count quota of {volume.OwnerName}: {usage.FilesUsed} of {maxFiles} files used.");
        }
    }

    /// <summary>Sets or clears (nulls) a user's quota in a root volume (site admins).</summary>
    public async Task SetOverrideAsync(Caller caller, Guid userId, string rootName, long? quotaBytes, long? quotaFiles, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            throw PlatformException.Forbidden("Only site admins set quotas.");
        }

        var root = volumes.Root(rootName);
        if (quotaBytes is < 0 || quotaFiles is < 0)
        {
            throw PlatformException.Invalid("Quotas are positive numbers, or null for the default.", "quotaBytes");
        }

        var row = await db.Set<QuotaOverride>().FirstOrDefaultAsync(q => q.UserId == userId && q.RootVolume == root.Name, ct);
        if (quotaBytes is null && quotaFiles is null)
        {
            if (row is not null)
            {
                db.Remove(row);
            }
        }
        else
        {
            if (row is null)
            {
                row = new QuotaOverride { UserId = userId, RootVolume = root.Name };
                db.Add(row);
            }

            row.QuotaBytes = quotaBytes;
            row.QuotaFiles = quotaFiles;
        }

        await db.SaveChangesAsync(ct);
    }

    public void Adjust(VolumeLocation location, long bytes, long files)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.UserVolume is { } v)
        {
            cache.Adjust(v.OwnerId, v.RootVolume, bytes, files);
        }
    }

    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} bytes" : $"{value:0.#} {units[unit]}";
    }

    private UsageCache.Measured Measure(Guid userId, string userName, RootVolumeOptions root)
    {
        var now = time.GetUtcNow();
        if (cache.TryGet(userId, root.Name, now - options.Value.UsageCacheLifetime, out var cached))
        {
            return cached;
        }

        var folder = new DirectoryInfo(Path.Combine(volumes.RootPath(root), userName));
        var (bytes, files) = folder.Exists && folder.LinkTarget is null ? FolderSize.Measure(folder) : (0, 0);
        var measured = new UsageCache.Measured(now, bytes, files);
        cache.Set(userId, root.Name, measured);
        return measured;
    }
}

