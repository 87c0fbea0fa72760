using Microsoft.EntityFrameworkCore;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compute;

/// <summary>An admin's description of a domain (every limit required, so nothing is left to a guess).</summary>
public sealed record DomainSpec(
    string? Description,
    string? Backend,
    string? Partition,
    long? MemoryBytes,
    double? Cpus,
    int? MaxProcesses,
    int? MaxSessionsPerUser,
    TimeSpan? IdleTimeout,
    TimeSpan? Lifetime,
    TimeSpan? MaxLifetime);

public sealed record ImageSpec(string? Description, string? JupyterCommand, IReadOnlyList<string>? Kernels);

/// <summary>Compute domains and images: who may use which, and what admins change. Both are resources of the authorization service.</summary>
public sealed class ComputeCatalog(PlatformDbContext db, AccessService access, TimeProvider time)
{
    public const string LocalDomain = "Local";
    public const string PythonImage = "Python 3 (astro)";
    public const string RImage = "R";
    public const string OctaveImage = "Octave";

    /// <summary>Where Debian's packages put kernel specs; an image is seeded only when its kernel is installed.</summary>
    public const string KernelsFolder = "/usr/share/jupyter/kernels";

    public const string DefaultJupyterCommand = "/usr/bin/python3 -I -m notebook";

    /// <summary>The domains the caller may use.</summary>
    public async Task<IReadOnlyList<ComputeDomain>> DomainsAsync(Caller caller, CancellationToken ct)
    {
        var result = new List<ComputeDomain>();
        foreach (var d in await db.Set<ComputeDomain>().AsNoTracking().OrderBy(d => d.Name).ToListAsync(ct))
        {
            if (await access.CanAsync(caller, ResourceTypes.ComputeDomain, d.Name, ResourceActions.Use, ct))
            {
                result.Add(d);
            }
        }

        return result;
    }

    public async Task<IReadOnlyList<ComputeImage>> ImagesAsync(Caller caller, CancellationToken ct)
    {
        var result = new List<ComputeImage>();
        foreach (var i in await db.Set<ComputeImage>().AsNoTracking().OrderBy(i => i.Name).ToListAsync(ct))
        {
            if (await access.CanAsync(caller, ResourceTypes.ComputeImage, i.Name, ResourceActions.Use, ct))
            {
                result.Add(i);
            }
        }

        return result;
    }

    /// <summary>A domain the caller may use; one they may not use is not found, like one that does not exist.</summary>
    public async Task<ComputeDomain> DemandDomainAsync(Caller caller, string? name, CancellationToken ct)
    {
        var message = $"There is no compute domain '{name}' that you may use. GET /api/compute/domains lists yours.";
        var domain = await db.Set<ComputeDomain>().AsNoTracking().FirstOrDefaultAsync(d => d.Name == name, ct) ?? throw PlatformException.NotFound(message);
        await access.DemandAsync(caller, ResourceTypes.ComputeDomain, domain.Name, ResourceActions.Use, message, ct);
        return domain;
    }

    public async Task<ComputeImage> DemandImageAsync(Caller caller, string? name, CancellationToken ct)
    {
        var message = $"There is no image '{name}' that you may use. GET /api/compute/images lists yours.";
        var image = await db.Set<ComputeImage>().AsNoTracking().FirstOrDefaultAsync(i => i.Name == name, ct) ?? throw PlatformException.NotFound(message);
        await access.DemandAsync(caller, ResourceTypes.ComputeImage, image.Name, ResourceActions.Use, message, ct);
        return image;
    }

    /// <summary>Creates or changes a domain (site admins). A new domain is usable by nobody until shared (e.g. with the public group).</summary>
    public async Task<ComputeDomain> PutDomainAsync(Caller caller, string name, DomainSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(spec);
        RequireAdmin(caller);
        CheckName(name, "domain");
        if (spec.Backend is null || !ComputeBackends.Known.Contains(spec.Backend, StringComparer.Ordinal))
        {
            throw PlatformException.Invalid($"backend is one of {string.Join(", ", ComputeBackends.Known)}.", "backend");
        }

        if (spec.MemoryBytes is not (>= 64L << 20) || spec.Cpus is not (> 0 and <= 1024) || spec.MaxProcesses is not (>= 16 and <= 1_000_000)
            || spec.MaxSessionsPerUser is not (>= 1 and <= 1000))
        {
            throw PlatformException.Invalid("memoryBytes (at least 64 MiB), cpus (above 0), maxProcesses (at least 16) and maxSessionsPerUser (at least 1) are required.");
        }

        if (spec.IdleTimeout is not { } idle || idle < TimeSpan.FromMinutes(1) || spec.Lifetime is not { } life || life < TimeSpan.FromMinutes(1)
            || spec.MaxLifetime is not { } max || max < life)
        {
            throw PlatformException.Invalid("idleTimeout and lifetime (at least a minute each) and maxLifetime (at least lifetime) are required, as [d.]hh:mm:ss.");
        }

        var domain = await db.Set<ComputeDomain>().FirstOrDefaultAsync(d => d.Name == name, ct);
        if (domain is null)
        {
            domain = new ComputeDomain { Name = name, Backend = spec.Backend, CreatedAt = time.GetUtcNow() };
            db.Set<ComputeDomain>().Add(domain);
        }

        domain.Backend = spec.Backend;
        domain.Description = (spec.Description ?? "").Trim();
        domain.Partition = string.IsNullOrWhiteSpace(spec.Partition) ? null : spec.Partition.Trim();
        domain.MemoryBytes = spec.MemoryBytes.Value;
        domain.Cpus = spec.Cpus.Value;
        domain.MaxProcesses = spec.MaxProcesses.Value;
        domain.MaxSessionsPerUser = spec.MaxSessionsPerUser.Value;
        domain.IdleTimeout = idle;
        domain.Lifetime = life;
        domain.MaxLifetime = max;
        await db.SaveChangesAsync(ct);
        await access.RegisterAsync(ResourceTypes.ComputeDomain, domain.Name, domain.Name, ownerId: null, ct);
        return domain;
    }

    public async Task<ComputeImage> PutImageAsync(Caller caller, string name, ImageSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(spec);
        RequireAdmin(caller);
        CheckName(name, "image");
        var kernels = spec.Kernels?.Select(k => k.Trim()).Where(k => k.Length > 0).ToList() ?? [];
        if (kernels.Count == 0 || kernels.Any(k => !k.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
        {
            throw PlatformException.Invalid("kernels lists kernel names (letters, digits, _ - .), the default first.", "kernels");
        }

        var command = string.IsNullOrWhiteSpace(spec.JupyterCommand) ? DefaultJupyterCommand : spec.JupyterCommand.Trim();
        if (!command.StartsWith('/') || command.Any(char.IsControl))
        {
            throw PlatformException.Invalid("jupyterCommand starts with an absolute program path, e.g. /usr/bin/python3 -I -m notebook.", "jupyterCommand");
        }

        var image = await db.Set<ComputeImage>().FirstOrDefaultAsync(i => i.Name == name, ct);
        if (image is null)
        {
            image = new ComputeImage { Name = name, JupyterCommand = command, Kernels = "", CreatedAt = time.GetUtcNow() };
            db.Set<ComputeImage>().Add(image);
        }

        image.Description = (spec.Description ?? "").Trim();
        image.JupyterCommand = command;
        image.Kernels = string.Join(',', kernels);
        await db.SaveChangesAsync(ct);
        await access.RegisterAsync(ResourceTypes.ComputeImage, image.Name, image.Name, ownerId: null, ct);
        return image;
    }

    /// <summary>At first start: the Local domain and the images whose kernels are installed, usable by everyone.</summary>
    public async Task SeedAsync(CancellationToken ct)
    {
        var system = new Caller(Guid.Empty, "platform", IsAdmin: true);
        if (!await db.Set<ComputeDomain>().AnyAsync(ct))
        {
            var memory = Math.Min(4L << 30, Math.Max(512L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4));
            var domain = await PutDomainAsync(system, LocalDomain, new DomainSpec(
                "Sandboxed sessions on the platform's own machine, next to the data.", ComputeBackends.Local, null,
                memory, Math.Max(1, Environment.ProcessorCount / 2), 1024, 3,
                TimeSpan.FromHours(8), TimeSpan.FromHours(24), TimeSpan.FromDays(7)), ct);
            await ShareWithPublicAsync(system, ResourceTypes.ComputeDomain, domain.Name, ct);
        }

        if (!await db.Set<ComputeImage>().AnyAsync(ct))
        {
            foreach (var (name, description, kernels) in new[]
            {
                (PythonImage, "Python 3 with numpy, scipy, pandas, astropy, matplotlib, healpy and requests.", new[] { "python3" }),
                (RImage, "R (IRkernel), and Python 3.", new[] { "ir", "python3" }),
                (OctaveImage, "GNU Octave, the MATLAB-compatible language (octave kernel), and Python 3.", new[] { "octave", "python3" }),
            })
            {
                if (!File.Exists(Path.Combine(KernelsFolder, kernels[0], "kernel.json")))
                {
                    continue;
                }

                var image = await PutImageAsync(system, name, new ImageSpec(description, DefaultJupyterCommand, kernels), ct);
                await ShareWithPublicAsync(system, ResourceTypes.ComputeImage, image.Name, ct);
            }
        }
    }

    private async Task ShareWithPublicAsync(Caller system, ResourceType type, string key, CancellationToken ct)
    {
        var resource = (await access.FindAsync(type, key, ct))!;
        await access.SetPrivilegeAsync(system, resource, PrincipalKind.Group, Groups.GroupNames.Public, ResourceActions.Use, ct);
    }

    private static void RequireAdmin(Caller caller)
    {
        if (!caller.IsAdmin)
        {
            throw PlatformException.Forbidden("Only site admins manage compute domains and images.");
        }
    }

    private static void CheckName(string? name, string what)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name != name.Trim()
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '_' or '-' or '.' or '(' or ')'))
        {
            throw PlatformException.Invalid($"A {what} name is 1 to 64 letters, digits, spaces and _ - . ( ).", "name");
        }
    }
}
