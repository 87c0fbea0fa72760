using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Files;

public static class FilesSetup
{
    public static void AddFiles(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Configured root volumes replace the defaults whole (binding would otherwise add to a pre-filled list).
        builder.Services.AddOptions<FilesOptions>().BindConfiguration(FilesOptions.SectionName)
            .PostConfigure(o =>
            {
                if (o.RootVolumes.Count == 0)
                {
                    o.RootVolumes = FilesOptions.DefaultRootVolumes();
                }
            })
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<UsageCache>();
        builder.Services.AddScoped<VolumeService>();
        builder.Services.AddScoped<QuotaService>();
        builder.Services.AddScoped<FileService>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IAccountLifecycle, DefaultVolumes>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IActivityCount, OwnedVolumeCount>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IActivityCount, SharedVolumeCount>());
        builder.Services.AddHostedService<FilesWorker>();
    }

    /// <summary>Every new account gets its default user volumes at once.</summary>
    private sealed class DefaultVolumes(VolumeService volumes) : IAccountLifecycle
    {
        public Task AccountCreatedAsync(User user, CancellationToken cancellationToken) =>
            volumes.EnsureDefaultVolumesAsync(user.Id, user.UserName, cancellationToken);
    }

    private sealed class OwnedVolumeCount(PlatformDbContext db) : IActivityCount
    {
        public string Key => ActivityKeys.UserVolumesOwned;

        public Task<int> CountAsync(Guid userId, CancellationToken cancellationToken) =>
            Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(db.Set<UserVolume>(), v => v.OwnerId == userId, cancellationToken);
    }

    private sealed class SharedVolumeCount(AccessService access, AccountService accounts) : IActivityCount
    {
        public string Key => ActivityKeys.UserVolumesShared;

        public async Task<int> CountAsync(Guid userId, CancellationToken cancellationToken)
        {
            var user = await accounts.FindAsync(userId, cancellationToken);
            return (await access.SharedWithAsync(new Caller(user.Id, user.UserName, user.IsAdmin), ResourceTypes.UserVolume, cancellationToken)).Count;
        }
    }
}

/// <summary>
/// Removes leftover upload temp files at start (a crash mid-upload leaves one; the old file is intact),
/// then periodically purges old files from root volumes with a PurgeAfterDays policy and expired partial uploads.
/// </summary>
internal sealed partial class FilesWorker(IServiceScopeFactory scopes, IOptions<FilesOptions> options, TimeProvider time, ILogger<FilesWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var startup = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var files = scope.ServiceProvider.GetRequiredService<FileService>();
                files.CleanUploadFolders(startup);
                var volumes = scope.ServiceProvider.GetRequiredService<VolumeService>();
                foreach (var root in volumes.Roots.Where(r => r.PurgeAfterDays is not null))
                {
                    var removed = Purge.OldFiles(volumes.RootPath(root), time.GetUtcNow() - TimeSpan.FromDays(root.PurgeAfterDays!.Value), stoppingToken);
                    if (removed > 0)
                    {
                        LogPurged(logger, removed, root.Name, root.PurgeAfterDays.Value);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogPurgeFailed(logger, e);
            }

            startup = false;
            await Task.Delay(options.Value.PurgeInterval, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [LoggerMessage(1220, LogLevel.Information, "Purged {Count} files older than {Days} days from {Root}")]
    private static partial void LogPurged(ILogger logger, int count, string root, int days);

    [LoggerMessage(1221, LogLevel.Warning, "Purge of old files failed")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}

/// <summary>The Temporary purge: files not modified since the cutoff are deleted; links are removed, never followed.</summary>
public static class Purge
{
    public static int OldFiles(string rootPath, DateTimeOffset cutoff, CancellationToken ct)
    {
        var root = new DirectoryInfo(rootPath);
        if (!root.Exists)
        {
            return 0;
        }

        var removed = 0;
        var stack = new Stack<DirectoryInfo>(root.EnumerateDirectories().Where(d => d.LinkTarget is null && d.Name != VolumeService.UploadFolderName));
        while (stack.TryPop(out var dir))
        {
            ct.ThrowIfCancellationRequested();
            foreach (var entry in dir.EnumerateFileSystemInfos("*", new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 }))
            {
                if (entry is DirectoryInfo sub && entry.LinkTarget is null)
                {
                    stack.Push(sub);
                }
                else if (entry.LinkTarget is not null || entry is FileInfo)
                {
                    if (entry.LastWriteTimeUtc < cutoff.UtcDateTime)
                    {
                        entry.Delete();
                        removed++;
                    }
                }
            }
        }

        return removed;
    }
}
