using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute;

/// <summary>
/// The volumes a session or a job chose, checked against the chooser's rights, and the mounts they become
/// at each start (rights checked again: a share may have been revoked meanwhile). Shared by sessions and jobs.
/// </summary>
internal static class VolumeMounts
{
    public static async Task<List<SessionVolume>> CheckAsync(VolumeService volumes, Caller caller, IReadOnlyList<string>? dataVolumes, IReadOnlyList<UserVolumeChoice>? userVolumes, CancellationToken ct)
    {
        var result = new List<SessionVolume>();
        foreach (var name in dataVolumes ?? [])
        {
            if (string.IsNullOrEmpty(name) || name.Contains('/', StringComparison.Ordinal))
            {
                throw PlatformException.Invalid("dataVolumes lists data volume names, e.g. [\"SDSS_DR16\"].", "dataVolumes");
            }

            var location = await volumes.ResolveAsync(caller, name, ResourceActions.Read, ct);
            if (location.DataVolume is null)
            {
                throw PlatformException.NotFound($"There is no data volume '{name}' that you can reach.");
            }

            if (result.Any(v => v.Kind == SessionVolumeKind.Data && v.Name == name))
            {
                throw PlatformException.Invalid($"The data volume '{name}' is listed twice.", "dataVolumes");
            }

            result.Add(new SessionVolume { Kind = SessionVolumeKind.Data, Name = location.DataVolume.Name, Writable = false });
        }

        foreach (var choice in userVolumes ?? [])
        {
            if (choice is null || string.IsNullOrEmpty(choice.RootVolume) || string.IsNullOrEmpty(choice.Owner) || string.IsNullOrEmpty(choice.Name)
                || new[] { choice.RootVolume, choice.Owner, choice.Name }.Any(p => p.Contains('/', StringComparison.Ordinal)))
            {
                throw PlatformException.Invalid("Each of userVolumes names rootVolume, owner and name, e.g. {\"rootVolume\":\"Storage\",\"owner\":\"alice\",\"name\":\"persistent\",\"writable\":true}.", "userVolumes");
            }

            var location = await volumes.ResolveAsync(caller, $"{choice.RootVolume}/{choice.Owner}/{choice.Name}",
                choice.Writable ? ResourceActions.Write : ResourceActions.Read, ct);
            var v = location.UserVolume!;
            if (result.Any(x => x.Kind == SessionVolumeKind.User && x.RootVolume == v.RootVolume && x.Owner == v.OwnerName && x.Name == v.Name))
            {
                throw PlatformException.Invalid($"The volume '{v.ResourceKey}' is listed twice.", "userVolumes");
            }

            result.Add(new SessionVolume { Kind = SessionVolumeKind.User, RootVolume = v.RootVolume, Owner = v.OwnerName, Name = v.Name, Writable = choice.Writable });
        }

        return result;
    }

    /// <summary>The mounts of a start, with rights checked again (a share may have been revoked since the session was created).</summary>
    public static async Task<List<SessionMount>> MountsAsync(VolumeService volumes, Caller owner, IReadOnlyList<SessionVolume> chosen, UnixAccount account, CancellationToken ct)
    {
        var mounts = new List<SessionMount>();
        foreach (var v in chosen)
        {
            if (v.Kind == SessionVolumeKind.Data)
            {
                var location = await volumes.ResolveAsync(owner, v.Name, ResourceActions.Read, ct);
                mounts.Add(new SessionMount(location.VolumeFolder, $"{Backends.LocalBackend.Workspace}/{v.Name}", Writable: false));
                continue;
            }

            var path = $"{v.RootVolume}/{v.Owner}/{v.Name}";
            var user = await volumes.ResolveAsync(owner, path, v.Writable ? ResourceActions.Write : ResourceActions.Read, ct);
            // The folder itself must be a real folder, not a link put there by someone.
            using (NoFollow.OpenDirectory(volumes.RootPath(user.Root!), [v.Owner!, v.Name]))
            {
            }

            if (v.Owner == owner.UserName)
            {
                await UnixAccounts.ChownTreeAsync(user.VolumeFolder, account, ct);
            }

            mounts.Add(new SessionMount(user.VolumeFolder, $"{Backends.LocalBackend.Workspace}/{path}", v.Writable));
        }

        return mounts;
    }
}
