using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Files;

/// <summary>Where a path points, after the caller's right to act there was checked.</summary>
public sealed record VolumeLocation(
    string Display,
    string VolumeFolder,
    IReadOnlyList<string> Names,
    UserVolume? UserVolume,
    DataVolume? DataVolume,
    RootVolumeOptions? Root,
    ResourceActions Actions)
{
    /// <summary>The last name in the path, or null for the volume itself.</summary>
    public string? Name => Names.Count == 0 ? null : Names[^1];

    public IReadOnlyList<string> ParentNames => Names.Count == 0 ? [] : Names.Take(Names.Count - 1).ToList();

    /// <summary>The platform's private folder for upload temp files, on the same file system as the volume.</summary>
    public string UploadFolder => UserVolume is not null
        ? Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(VolumeFolder)!)!, VolumeService.UploadFolderName)
        : Path.Combine(VolumeFolder, VolumeService.UploadFolderName);
}

public sealed record UserVolumeInfo(long Id, Guid ResourceId, string RootVolume, string Owner, string Name, string Description, DateTimeOffset CreatedAt, ResourceActions Actions);

public sealed record DataVolumeInfo(long Id, Guid ResourceId, string Name, string DisplayName, string Description, string Path, bool Writable, ResourceActions Actions);

/// <summary>User volumes and data volumes: creating them, listing what a user can reach, resolving paths.</summary>
public sealed class VolumeService(
    PlatformDbContext db,
    AccessService access,
    UsageCache usage,
    IOptions<FilesOptions> options,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<VolumeService> logger)
{
    /// <summary>The platform's own folder in each root (and data volume) for partial uploads; users never see it.</summary>
    public const string UploadFolderName = ".oss-uploads";

    private DbSet<UserVolume> UserVolumes => db.Set<UserVolume>();

    private DbSet<DataVolume> DataVolumes => db.Set<DataVolume>();

    public IReadOnlyList<RootVolumeOptions> Roots => options.Value.RootVolumes;

    public RootVolumeOptions Root(string name) =>
        Roots.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal))
        ?? throw PlatformException.NotFound($"There is no root volume '{name}'. Root volumes: {string.Join(", ", Roots.Select(r => r.Name))}.");

    public string RootPath(RootVolumeOptions root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return Path.GetFullPath(string.IsNullOrWhiteSpace(root.Path) ? Path.Combine(platform.Value.DataPath, "volumes", root.Name) : root.Path);
    }

    public string DataVolumesRoot => Path.GetFullPath(string.IsNullOrWhiteSpace(options.Value.DataVolumesPath)
        ? Path.Combine(platform.Value.DataPath, "volumes", "Data") : options.Value.DataVolumesPath);

    /// <summary>Creates the default user volumes (Storage/u/persistent, Temporary/u/scratch, ...) if missing.</summary>
    public async Task EnsureDefaultVolumesAsync(Guid userId, string userName, CancellationToken ct)
    {
        foreach (var root in Roots)
        {
            foreach (var name in root.DefaultUserVolumes)
            {
                if (!await UserVolumes.AnyAsync(v => v.RootVolume == root.Name && v.OwnerId == userId && v.Name == name, ct))
                {
                    await CreateVolumeAsync(root, userId, userName, name, "", ct);
                }
            }
        }
    }

    /// <summary>Creates a user volume of the caller's.</summary>
    public async Task<UserVolumeInfo> CreateAsync(Caller caller, string? rootName, string? name, string? description, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var root = Root(rootName ?? "");
        if (!UserVolumeNames.IsValid(name))
        {
            throw PlatformException.Invalid($"'{name}' is not a valid volume name: {UserVolumeNames.RuleText}", "name");
        }

        if (await UserVolumes.AnyAsync(v => v.RootVolume == root.Name && v.OwnerId == caller.UserId && v.Name == name, ct))
        {
            throw PlatformException.Conflict($"You have a volume '{root.Name}/{caller.UserName}/{name}' already.", "name");
        }

        var volume = await CreateVolumeAsync(root, caller.UserId, caller.UserName, name!, CheckDescription(description), ct);
        return await ToInfoAsync(caller, volume, ct);
    }

    /// <summary>Renames or re-describes a user volume (its owner, or a site admin).</summary>
    public async Task<UserVolumeInfo> UpdateAsync(Caller caller, string root, string owner, string name, string? newName, string? description, CancellationToken ct)
    {
        var volume = await FindOwnedAsync(caller, root, owner, name, ct);
        if (description is not null)
        {
            volume.Description = CheckDescription(description);
        }

        if (newName is not null && newName != volume.Name)
        {
            if (!UserVolumeNames.IsValid(newName))
            {
                throw PlatformException.Invalid($"'{newName}' is not a valid volume name: {UserVolumeNames.RuleText}", "name");
            }

            if (await UserVolumes.AnyAsync(v => v.RootVolume == volume.RootVolume && v.OwnerId == volume.OwnerId && v.Name == newName, ct))
            {
                throw PlatformException.Conflict($"There is a volume '{volume.RootVolume}/{volume.OwnerName}/{newName}' already.", "name");
            }

            using (var userFolder = NoFollow.OpenDirectory(RootPath(Root(volume.RootVolume)), [volume.OwnerName]))
            {
                NoFollow.Rename(userFolder, volume.Name, userFolder, newName, replace: false);
            }

            var oldKey = volume.ResourceKey;
            volume.Name = newName;
            await access.RekeyAsync(ResourceTypes.UserVolume, oldKey, volume.ResourceKey, volume.ResourceKey, ct);
        }

        await db.SaveChangesAsync(ct);
        return await ToInfoAsync(caller, volume, ct);
    }

    /// <summary>Deletes a user volume and all its files (its owner, or a site admin).</summary>
    public async Task DeleteAsync(Caller caller, string root, string owner, string name, CancellationToken ct)
    {
        var volume = await FindOwnedAsync(caller, root, owner, name, ct);
        using (var userFolder = NoFollow.OpenDirectory(RootPath(Root(volume.RootVolume)), [volume.OwnerName]))
        {
            if (NoFollow.KindOf(userFolder, volume.Name) == EntryKind.Directory)
            {
                NoFollow.DeleteTree(userFolder, volume.Name);
            }
        }

        UserVolumes.Remove(volume);
        await db.SaveChangesAsync(ct);
        await access.UnregisterAsync(ResourceTypes.UserVolume, volume.ResourceKey, ct);
        // Its files are gone: measure the owner's usage again rather than trust the cached figure.
        usage.Forget(volume.OwnerId, volume.RootVolume);
        Log.VolumeDeleted(logger, volume.ResourceKey, caller.UserName);
    }

    /// <summary>The caller's own user volumes, in every root.</summary>
    public async Task<IReadOnlyList<UserVolumeInfo>> OwnedAsync(Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await EnsureDefaultVolumesAsync(caller.UserId, caller.UserName, ct);
        var volumes = await UserVolumes.AsNoTracking().Where(v => v.OwnerId == caller.UserId)
            .OrderBy(v => v.RootVolume).ThenBy(v => v.Name).ToListAsync(ct);
        var result = new List<UserVolumeInfo>();
        foreach (var v in volumes)
        {
            result.Add(await ToInfoAsync(caller, v, ct));
        }

        return result;
    }

    /// <summary>Other users' volumes shared with the caller (directly or through a group).</summary>
    public async Task<IReadOnlyList<UserVolumeInfo>> SharedWithAsync(Caller caller, CancellationToken ct)
    {
        var shared = await access.SharedWithAsync(caller, ResourceTypes.UserVolume, ct);
        var keys = shared.ToDictionary(s => s.Resource.Key, StringComparer.Ordinal);
        var volumes = await UserVolumes.AsNoTracking().Where(v => v.OwnerId != caller.UserId).ToListAsync(ct);
        return volumes.Where(v => keys.ContainsKey(v.ResourceKey))
            .Select(v => new UserVolumeInfo(v.Id, keys[v.ResourceKey].Resource.Id, v.RootVolume, v.OwnerName, v.Name, v.Description, v.CreatedAt, keys[v.ResourceKey].Actions))
            .OrderBy(v => v.Owner, StringComparer.Ordinal).ThenBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Data volumes the caller may read (all of them for site admins).</summary>
    public async Task<IReadOnlyList<DataVolumeInfo>> DataVolumesAsync(Caller caller, CancellationToken ct)
    {
        var result = new List<DataVolumeInfo>();
        foreach (var dv in await DataVolumes.AsNoTracking().OrderBy(d => d.Name).ToListAsync(ct))
        {
            var resource = await access.FindAsync(ResourceTypes.DataVolume, dv.Name, ct);
            var actions = resource is null ? ResourceActions.None : await access.ActionsAsync(caller, resource, ct);
            if (actions != ResourceActions.None)
            {
                result.Add(ToInfo(dv, resource!.Id, actions));
            }
        }

        return result;
    }

    /// <summary>Registers an existing folder as a data volume (site admins).</summary>
    public async Task<DataVolumeInfo> RegisterDataVolumeAsync(Caller caller, string? name, string? folder, string? displayName, string? description, bool writable, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            throw PlatformException.Forbidden("Only site admins register data volumes.");
        }

        if (!UserVolumeNames.IsValid(name) || Roots.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            throw PlatformException.Invalid($"'{name}' is not a valid data volume name: {UserVolumeNames.RuleText} It may not be a root volume's name.", "name");
        }

        var path = ResolveDataFolder(folder);
        if (await DataVolumes.AnyAsync(d => d.Name == name, ct))
        {
            throw PlatformException.Conflict($"There is a data volume '{name}' already.", "name");
        }

        var dv = new DataVolume
        {
            Name = name!,
            DisplayName = string.IsNullOrWhiteSpace(displayName) ? name! : displayName.Trim(),
            Description = CheckDescription(description),
            Path = path,
            Writable = writable,
            CreatedAt = time.GetUtcNow(),
        };
        DataVolumes.Add(dv);
        await db.SaveChangesAsync(ct);
        var resource = await access.RegisterAsync(ResourceTypes.DataVolume, dv.Name, dv.DisplayName, ownerId: null, ct);
        return ToInfo(dv, resource.Id, ResourceTypes.DataVolume.Actions);
    }

    public async Task UnregisterDataVolumeAsync(Caller caller, string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsAdmin)
        {
            throw PlatformException.Forbidden("Only site admins remove data volumes.");
        }

        var dv = await DataVolumes.FirstOrDefaultAsync(d => d.Name == name, ct) ?? throw PlatformException.NotFound($"There is no data volume '{name}'.");
        DataVolumes.Remove(dv);
        await db.SaveChangesAsync(ct);
        await access.UnregisterAsync(ResourceTypes.DataVolume, dv.Name, ct);
    }

    /// <summary>
    /// Resolves <c>Root/owner/volume/rel</c> or <c>DataVolume/rel</c> and checks that the caller holds
    /// <paramref name="action"/> there. A volume the caller cannot reach answers 404, like a missing one.
    /// </summary>
    public async Task<VolumeLocation> ResolveAsync(Caller caller, string? path, ResourceActions action, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var names = VolumePaths.Split(path);
        if (names.Count == 0)
        {
            throw PlatformException.Invalid("Name a volume: Root/owner/volume/... or DataVolume/...", "path");
        }

        var root = Roots.FirstOrDefault(r => string.Equals(r.Name, names[0], StringComparison.Ordinal));
        if (root is not null)
        {
            if (names.Count < 3)
            {
                throw PlatformException.Invalid($"A path in {root.Name} names the owner and the volume: {root.Name}/owner/volume/...", "path");
            }

            var display = $"{root.Name}/{names[1]}/{names[2]}";
            var volume = await UserVolumes.AsNoTracking().FirstOrDefaultAsync(v => v.RootVolume == root.Name && v.OwnerName == names[1] && v.Name == names[2], ct);
            if (volume is null && names[1] == caller.UserName)
            {
                // The defaults exist at the latest when first used.
                await EnsureDefaultVolumesAsync(caller.UserId, caller.UserName, ct);
                volume = await UserVolumes.AsNoTracking().FirstOrDefaultAsync(v => v.RootVolume == root.Name && v.OwnerName == names[1] && v.Name == names[2], ct);
            }

            if (volume is null)
            {
                throw PlatformException.NotFound($"There is no volume '{display}' that you can reach.");
            }

            var info = await access.DemandAsync(caller, ResourceTypes.UserVolume, volume.ResourceKey, action, $"There is no volume '{display}' that you can reach.", ct);
            return new VolumeLocation(string.Join('/', names), Path.Combine(RootPath(root), volume.OwnerName, volume.Name), names.Skip(3).ToList(),
                volume, null, root, await access.ActionsAsync(caller, info, ct));
        }

        var dv = await DataVolumes.AsNoTracking().FirstOrDefaultAsync(d => d.Name == names[0], ct)
            ?? throw PlatformException.NotFound($"There is no volume '{names[0]}' that you can reach.");
        // Data volumes have no delete action: removing inside a writable one needs write.
        var needed = action == ResourceActions.Delete ? ResourceActions.Write : action;
        var resource = await access.DemandAsync(caller, ResourceTypes.DataVolume, dv.Name, needed, $"There is no volume '{names[0]}' that you can reach.", ct);
        if (needed == ResourceActions.Write && !dv.Writable)
        {
            throw PlatformException.Forbidden($"The data volume '{dv.Name}' is read-only.");
        }

        // A read-only data volume grants no write to anyone, admins included.
        var actions = await access.ActionsAsync(caller, resource, ct);
        return new VolumeLocation(string.Join('/', names), dv.Path, names.Skip(1).ToList(), null, dv, null, dv.Writable ? actions : actions & ~ResourceActions.Write);
    }

    private async Task<UserVolume> CreateVolumeAsync(RootVolumeOptions root, Guid ownerId, string ownerName, string name, string description, CancellationToken ct)
    {
        var rootPath = RootPath(root);
        Directory.CreateDirectory(rootPath);
        using (NoFollow.OpenDirectory(rootPath, [ownerName, name], create: true))
        {
        }

        var volume = new UserVolume { RootVolume = root.Name, OwnerId = ownerId, OwnerName = ownerName, Name = name, Description = description, CreatedAt = time.GetUtcNow() };
        UserVolumes.Add(volume);
        await db.SaveChangesAsync(ct);
        await access.RegisterAsync(ResourceTypes.UserVolume, volume.ResourceKey, volume.ResourceKey, ownerId, ct);
        Log.VolumeCreated(logger, volume.ResourceKey);
        return volume;
    }

    private async Task<UserVolume> FindOwnedAsync(Caller caller, string root, string owner, string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var volume = await UserVolumes.FirstOrDefaultAsync(v => v.RootVolume == root && v.OwnerName == owner && v.Name == name, ct);
        var display = $"{root}/{owner}/{name}";
        if (volume is null)
        {
            throw PlatformException.NotFound($"There is no volume '{display}' that you can reach.");
        }

        if (volume.OwnerId != caller.UserId && !caller.IsAdmin)
        {
            // Whoever may see it learns only that it is not theirs to rename or delete.
            var held = await access.ActionsAsync(caller, ResourceTypes.UserVolume, volume.ResourceKey, ct);
            throw held == ResourceActions.None
                ? PlatformException.NotFound($"There is no volume '{display}' that you can reach.")
                : PlatformException.Forbidden("Only the volume's owner can rename or delete it.");
        }

        return volume;
    }

    private string ResolveDataFolder(string? folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
        {
            throw PlatformException.Invalid("Give the folder of the data volume, inside " + DataVolumesRoot + ".", "path");
        }

        var full = Path.GetFullPath(Path.IsPathRooted(folder) ? folder : Path.Combine(DataVolumesRoot, folder));
        var rootWithSlash = DataVolumesRoot.TrimEnd('/') + "/";
        if (!full.StartsWith(rootWithSlash, StringComparison.Ordinal) || !Directory.Exists(full))
        {
            throw PlatformException.Invalid($"The folder must exist inside {DataVolumesRoot} (Files:DataVolumesPath).", "path");
        }

        // The folder itself must be reachable without links, as every path in it will be.
        using (NoFollow.OpenDirectory(DataVolumesRoot, VolumePaths.Split(full[rootWithSlash.Length..])))
        {
        }

        return full;
    }

    private static string CheckDescription(string? description)
    {
        var text = (description ?? "").Trim();
        if (text.Length > 2000 || text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
        {
            throw PlatformException.Invalid("A description is at most 2000 characters, without control characters.", "description");
        }

        return text;
    }

    private async Task<UserVolumeInfo> ToInfoAsync(Caller caller, UserVolume v, CancellationToken ct)
    {
        var resource = await access.FindAsync(ResourceTypes.UserVolume, v.ResourceKey, ct)
            ?? await access.RegisterAsync(ResourceTypes.UserVolume, v.ResourceKey, v.ResourceKey, v.OwnerId, ct);
        return new UserVolumeInfo(v.Id, resource.Id, v.RootVolume, v.OwnerName, v.Name, v.Description, v.CreatedAt, await access.ActionsAsync(caller, resource, ct));
    }

    private static DataVolumeInfo ToInfo(DataVolume d, Guid resourceId, ResourceActions actions) =>
        new(d.Id, resourceId, d.Name, d.DisplayName, d.Description, d.Path, d.Writable, actions);
}

internal static partial class Log
{
    [LoggerMessage(1200, LogLevel.Information, "Volume {Volume} created")]
    public static partial void VolumeCreated(ILogger logger, string volume);

    [LoggerMessage(1201, LogLevel.Information, "Volume {Volume} deleted by {UserName}")]
    public static partial void VolumeDeleted(ILogger logger, string volume, string userName);
}
