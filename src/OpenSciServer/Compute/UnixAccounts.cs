using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute;

/// <summary>A user's Unix identity for sessions.</summary>
public sealed record UnixAccount(int Uid, int Gid);

/// <summary>
/// Which Unix uid a user's sessions run as. <c>Range</c>: the platform hands out the next free uid of
/// its range and remembers it forever (uids are never reused, since files may still carry them).
/// <c>Existing</c>: the machine knows the user (/etc/passwd, filled from LDAP at an HPC centre).
/// Never root, never a system account, never the platform's own account.
/// </summary>
public sealed class UnixAccounts(PlatformDbContext db, IOptions<ComputeOptions> options)
{
    public async Task<UnixAccount> ForAsync(Guid userId, string userName, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (o.UidMapping == UidMappings.Existing)
        {
            var entry = (await File.ReadAllLinesAsync("/etc/passwd", cancellationToken))
                .Select(l => l.Split(':'))
                .FirstOrDefault(f => f.Length >= 4 && f[0] == userName);
            if (entry is null || !int.TryParse(entry[2], CultureInfo.InvariantCulture, out var uid) || !int.TryParse(entry[3], CultureInfo.InvariantCulture, out var gid))
            {
                throw PlatformException.Invalid($"This machine has no Unix account '{userName}' for your sessions. Ask the administrators to create one.");
            }

            if (uid < 1000 || (uint)uid == Backends.Native.GetEffectiveUserId())
            {
                throw PlatformException.Invalid($"The Unix account '{userName}' is a system account; sessions cannot run as it.");
            }

            return new UnixAccount(uid, gid);
        }

        var mapped = await db.Set<ComputeUid>().AsNoTracking().FirstOrDefaultAsync(u => u.UserId == userId, cancellationToken);
        if (mapped is not null)
        {
            return new UnixAccount(mapped.Uid, mapped.Uid);
        }

        for (var attempt = 0; attempt < 5; attempt++)
        {
            var highest = await db.Set<ComputeUid>().Where(u => u.Uid >= o.UidRangeStart && u.Uid <= o.UidRangeEnd)
                .MaxAsync(u => (int?)u.Uid, cancellationToken);
            var next = highest is null ? o.UidRangeStart : highest.Value + 1;
            if (next > o.UidRangeEnd)
            {
                throw PlatformException.Conflict($"The platform's uid range ({o.UidRangeStart}-{o.UidRangeEnd}) is used up; ask the administrators to widen Compute:UidRangeEnd.");
            }

            var added = db.Set<ComputeUid>().Add(new ComputeUid { UserId = userId, Uid = next });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return new UnixAccount(next, next);
            }
            catch (DbUpdateException)
            {
                // Another start took the same uid (or mapped this user) at the same moment: look again. Only
                // this row is forgotten: the caller's tracked entities (the session being launched) stay tracked.
                added.State = EntityState.Detached;
                if (await db.Set<ComputeUid>().AsNoTracking().FirstOrDefaultAsync(u => u.UserId == userId, cancellationToken) is { } raced)
                {
                    return new UnixAccount(raced.Uid, raced.Uid);
                }
            }
        }

        throw new InvalidOperationException("Could not assign a uid.");
    }

    /// <summary>
    /// Gives a folder tree to the user's uid: files the platform wrote (uploads through the file service)
    /// belong to the platform's account until then. Links are changed themselves, never followed.
    /// </summary>
    public static async Task ChownTreeAsync(string folder, UnixAccount account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        var psi = new ProcessStartInfo("/bin/chown",
            ["-R", "-P", "-h", $"{account.Uid.ToString(CultureInfo.InvariantCulture)}:{account.Gid.ToString(CultureInfo.InvariantCulture)}", "--", folder])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("chown could not be started.");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new IOException($"chown of a volume failed: {await error}");
        }
    }
}
