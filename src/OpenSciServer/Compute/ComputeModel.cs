using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using OpenSciServer.Accounts;

namespace OpenSciServer.Compute;

/// <summary>Where sessions run and within which limits; admins manage them, the authorization service says who may use them.</summary>
public sealed class ComputeDomain
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string Description { get; set; } = "";

    /// <summary>The backend by name: one of <see cref="ComputeBackends"/>.</summary>
    public required string Backend { get; set; }

    /// <summary>Slurm: the partition jobs go to (null: the cluster's default).</summary>
    public string? Partition { get; set; }

    /// <summary>Memory of one session, everything it starts included.</summary>
    public long MemoryBytes { get; set; }

    /// <summary>CPUs one session may keep busy.</summary>
    public double Cpus { get; set; }

    /// <summary>Processes and threads one session may have at once (stops fork bombs).</summary>
    public int MaxProcesses { get; set; }

    /// <summary>Sessions one user may have starting or running at once in this domain.</summary>
    public int MaxSessionsPerUser { get; set; }

    /// <summary>A session without traffic through the proxy for this long is stopped.</summary>
    public TimeSpan IdleTimeout { get; set; }

    /// <summary>What a start or an extend grants from that moment.</summary>
    public TimeSpan Lifetime { get; set; }

    /// <summary>A session never runs longer than this after its start, extensions included (Slurm: the walltime).</summary>
    public TimeSpan MaxLifetime { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A named environment: how to start Jupyter and which kernels it offers.</summary>
public sealed class ComputeImage
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public string Description { get; set; } = "";

    /// <summary>The program and arguments that start Jupyter notebook; the platform adds port, base URL and root folder.</summary>
    public required string JupyterCommand { get; set; }

    /// <summary>Kernel names (as in /usr/share/jupyter/kernels), comma-separated; the first is the default.</summary>
    public required string Kernels { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public IReadOnlyList<string> KernelList => Kernels.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

public enum SessionStatus
{
    Starting = 0,
    Running = 1,
    Stopped = 2,
    Failed = 3,
}

/// <summary>An interactive session: a Jupyter server as the user's uid over the volumes they chose.</summary>
public sealed class ComputeSession
{
    public Guid Id { get; set; }

    public Guid OwnerId { get; set; }

    public required string OwnerName { get; set; }

    public required string Name { get; set; }

    public long DomainId { get; set; }

    public ComputeDomain? Domain { get; set; }

    public long ImageId { get; set; }

    public ComputeImage? Image { get; set; }

    public SessionStatus Status { get; set; }

    /// <summary>Why it stopped or failed, or (Slurm) why it waits; for the user.</summary>
    public string? StatusReason { get; set; }

    /// <summary>Increases with every start, so a stale launch cannot overwrite a newer one.</summary>
    public int Generation { get; set; }

    /// <summary>The backend's handle (the local sandbox's group name, a Slurm job id). Server-side only.</summary>
    public string? BackendId { get; set; }

    /// <summary>Where its Jupyter answers. Server-side only: the proxy reads it from here, never from a request.</summary>
    public string? UpstreamHost { get; set; }

    public int? UpstreamPort { get; set; }

    /// <summary>The Jupyter server's token. Server-side only: the proxy adds it, the browser never sees it.</summary>
    public string? JupyterToken { get; set; }

    /// <summary>The platform token in /home/idies/keystone.token, revoked when the session stops.</summary>
    public Guid? PlatformTokenId { get; set; }

    public int? Uid { get; set; }

    /// <summary>The platform's address for SciScript inside the session (sciscript.json).</summary>
    public string? PlatformUrl { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? LastActivityAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? StoppedAt { get; set; }

    public List<SessionVolume> Volumes { get; set; } = [];
}

public enum SessionVolumeKind
{
    User = 0,
    Data = 1,
}

/// <summary>A volume a session mounts, as chosen at creation (rechecked at every start).</summary>
public sealed class SessionVolume
{
    public long Id { get; set; }

    public Guid SessionId { get; set; }

    public SessionVolumeKind Kind { get; set; }

    /// <summary>User volumes: the root volume (Storage, Temporary). Null for data volumes.</summary>
    public string? RootVolume { get; set; }

    /// <summary>User volumes: the owner's name.</summary>
    public string? Owner { get; set; }

    public required string Name { get; set; }

    public bool Writable { get; set; }
}

/// <summary>The Unix uid the platform gave a user (uid mapping "Range"); never given to anyone else.</summary>
public sealed class ComputeUid
{
    public Guid UserId { get; set; }

    public int Uid { get; set; }
}

internal sealed class ComputeDomainConfiguration : IEntityTypeConfiguration<ComputeDomain>
{
    public void Configure(EntityTypeBuilder<ComputeDomain> builder)
    {
        builder.ToTable("compute_domains");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Name).HasMaxLength(64).IsRequired();
        builder.HasIndex(d => d.Name).IsUnique();
        builder.Property(d => d.Description).HasMaxLength(2000).IsRequired();
        builder.Property(d => d.Backend).HasMaxLength(32).IsRequired();
        builder.Property(d => d.Partition).HasMaxLength(128);
    }
}

internal sealed class ComputeImageConfiguration : IEntityTypeConfiguration<ComputeImage>
{
    public void Configure(EntityTypeBuilder<ComputeImage> builder)
    {
        builder.ToTable("compute_images");
        builder.HasKey(i => i.Id);
        builder.Property(i => i.Name).HasMaxLength(64).IsRequired();
        builder.HasIndex(i => i.Name).IsUnique();
        builder.Property(i => i.Description).HasMaxLength(2000).IsRequired();
        builder.Property(i => i.JupyterCommand).HasMaxLength(1000).IsRequired();
        builder.Property(i => i.Kernels).HasMaxLength(500).IsRequired();
        builder.Ignore(i => i.KernelList);
    }
}

internal sealed class ComputeSessionConfiguration : IEntityTypeConfiguration<ComputeSession>
{
    public void Configure(EntityTypeBuilder<ComputeSession> builder)
    {
        builder.ToTable("compute_sessions");
        builder.HasKey(s => s.Id);
        builder.Property(s => s.OwnerName).HasMaxLength(UserNames.MaxLength).IsRequired();
        builder.Property(s => s.Name).HasMaxLength(64).IsRequired();
        builder.Property(s => s.StatusReason).HasMaxLength(2000);
        builder.Property(s => s.BackendId).HasMaxLength(128);
        builder.Property(s => s.UpstreamHost).HasMaxLength(255);
        builder.Property(s => s.JupyterToken).HasMaxLength(128);
        builder.Property(s => s.PlatformUrl).HasMaxLength(512);
        builder.HasIndex(s => new { s.OwnerId, s.Name }).IsUnique();
        builder.HasIndex(s => s.Status);
        builder.HasOne<User>().WithMany().HasForeignKey(s => s.OwnerId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne(s => s.Domain).WithMany().HasForeignKey(s => s.DomainId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne(s => s.Image).WithMany().HasForeignKey(s => s.ImageId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(s => s.Volumes).WithOne().HasForeignKey(v => v.SessionId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class SessionVolumeConfiguration : IEntityTypeConfiguration<SessionVolume>
{
    public void Configure(EntityTypeBuilder<SessionVolume> builder)
    {
        builder.ToTable("compute_session_volumes");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.RootVolume).HasMaxLength(64);
        builder.Property(v => v.Owner).HasMaxLength(UserNames.MaxLength);
        builder.Property(v => v.Name).HasMaxLength(64).IsRequired();
    }
}

internal sealed class ComputeUidConfiguration : IEntityTypeConfiguration<ComputeUid>
{
    public void Configure(EntityTypeBuilder<ComputeUid> builder)
    {
        builder.ToTable("compute_uids");
        builder.HasKey(u => u.UserId);
        builder.HasIndex(u => u.Uid).IsUnique();
        // No foreign key: the row outlives a deleted account so its uid (which may still own files
        // somewhere) is never handed to someone else.
    }
}
