using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Compute.Slurm;

namespace OpenSciServer.Compute;

public static class ComputeSetup
{
    public static void AddCompute(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ComputeOptions>().BindConfiguration(ComputeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IComputeBackend, LocalBackend>());
        builder.Services.AddOptions<SlurmOptions>().BindConfiguration(SlurmOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton<SlurmClient>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IComputeBackend, SlurmBackend>());
        builder.Services.AddSingleton<ComputeBackendRegistry>();
        builder.Services.AddSingleton<ComputeSignal>();
        builder.Services.AddSingleton<JupyterProbe>();
        builder.Services.AddSingleton<ProxyInvoker>();
        builder.Services.AddScoped<ComputeCatalog>();
        builder.Services.AddScoped<UnixAccounts>();
        builder.Services.AddScoped<SessionService>();
        builder.Services.AddHostedService<ComputeWorker>();
        builder.Services.AddHttpForwarder();
    }

    /// <summary>The native API and the notebook proxy.</summary>
    public static void MapCompute(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapComputeEndpoints();
        app.MapNotebookProxy();
    }
}
