import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { FleetConfig } from '../config';

/** The instance types a fleet may launch, in order of preference (`instanceType` first). */
export function fleetInstanceTypes(fleet: Pick<FleetConfig, 'instanceType' | 'instanceTypes'>): string[] {
  return [...new Set([fleet.instanceType, ...fleet.instanceTypes])];
}

/**
 * How the GPU hosts' Auto Scaling group launches instances: the launch template alone for one
 * On-Demand type; a mixed instances policy for Spot or several types. Spot runs above the
 * On-Demand base with capacity-optimized allocation (the pools least likely to be interrupted)
 * and capacity rebalancing (a replacement is launched when an instance is at elevated risk; the
 * old one then leaves through the termination lifecycle hook, draining first).
 */
export function hostInstanceProps(
  fleet: Pick<FleetConfig, 'instanceType' | 'instanceTypes' | 'spot' | 'onDemandBaseCapacity'>,
  launchTemplate: ec2.ILaunchTemplate,
): Pick<autoscaling.AutoScalingGroupProps, 'launchTemplate' | 'mixedInstancesPolicy' | 'capacityRebalance'> {
  const types = fleetInstanceTypes(fleet);
  if (!fleet.spot && types.length === 1) return { launchTemplate };
  return {
    mixedInstancesPolicy: {
      launchTemplate,
      launchTemplateOverrides: types.map((type) => ({ instanceType: new ec2.InstanceType(type) })),
      instancesDistribution: fleet.spot
        ? {
            onDemandBaseCapacity: fleet.onDemandBaseCapacity,
            onDemandPercentageAboveBaseCapacity: 0,
            onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
            spotAllocationStrategy: autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED,
          }
        : { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 100, onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED },
    },
    capacityRebalance: fleet.spot,
  };
}
